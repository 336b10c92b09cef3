// The dashboard page: hand-written HTML, CSS and JavaScript in Sources/TopologyServer/Dashboard/,
// embedded in the binary at build time (SwiftPM `.embedInCode` resources: byte arrays in the
// generated `PackageResources`, no resource bundle to find at run time). It talks to this server
// only (GET /api/v1/watch as Server-Sent Events), which the Content-Security-Policy header of the
// response enforces too. A page opened with ?access_token= passes the token on to its own requests
// (docs/security.md).

/// The dashboard: one self-contained page served at `/`.
enum DashboardPage {
    /// index.html with its stylesheets and scripts inlined. index.html links them as files so that it
    /// opens as a page from the source tree; the server inlines them so `/` is one response and the
    /// page needs no other route (its CSP allows inline script and style, and nothing else).
    static let bytes: [UInt8] = {
        var page = PackageResources.index_html
        for (name, body) in stylesheets {
            page = inline(body, replacing: "<link rel=\"stylesheet\" href=\"\(name)\">", open: "<style>\n", close: "</style>", in: page)
        }
        for (name, body) in scripts {
            page = inline(body, replacing: "<script src=\"\(name)\"></script>", open: "<script>\n", close: "</script>", in: page)
        }
        return page
    }()

    /// The stylesheets index.html links, by file name, in its order.
    static let stylesheets: [(name: String, bytes: [UInt8])] = [
        ("dashboard.css", PackageResources.dashboard_css), ("timeline.css", PackageResources.timeline_css),
    ]

    /// The scripts index.html loads, by file name, in its order.
    static let scripts: [(name: String, bytes: [UInt8])] = [
        ("graph-model.js", PackageResources.graph_model_js), ("graph-layout.js", PackageResources.graph_layout_js),
        ("graph-scene.js", PackageResources.graph_scene_js), ("graph-paint.js", PackageResources.graph_paint_js),
        ("dashboard.js", PackageResources.dashboard_js), ("timeline.js", PackageResources.timeline_js),
    ]

    /// `page` with its one `tag` replaced by `open`, `body` and `close`.
    static func inline(_ body: [UInt8], replacing tag: String, open: String, close: String, in page: [UInt8]) -> [UInt8] {
        let tag = Array(tag.utf8)
        guard let start = page.indices.first(where: { page[$0...].starts(with: tag) }) else {
            preconditionFailure("Dashboard/index.html lost its \(String(decoding: tag, as: UTF8.self))")
        }
        return Array(page[..<start]) + Array(open.utf8) + body + Array(close.utf8) + Array(page[(start + tag.count)...])
    }
}
