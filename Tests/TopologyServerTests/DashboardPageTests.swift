import Foundation
@testable import TopologyServer
import XCTest

/// The page served at `/` is Sources/TopologyServer/Dashboard/index.html with its stylesheet and
/// script inlined (the HTTP behaviour is in HTTPEndToEndTests and Tests/dashboard).
final class DashboardPageTests: XCTestCase {
    private func source(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/TopologyServer/Dashboard/\(name)")
        return Array(try Data(contentsOf: url))
    }

    private func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        haystack.indices.filter { haystack[$0...].starts(with: needle) }.count
    }

    /// The build embeds the files as they are in the source tree.
    func testTheEmbeddedFilesAreTheSourceFiles() throws {
        XCTAssertEqual(PackageResources.index_html, try source("index.html"))
        XCTAssertEqual(PackageResources.dashboard_css, try source("dashboard.css"))
        XCTAssertEqual(PackageResources.dashboard_js, try source("dashboard.js"))
        XCTAssertEqual(PackageResources.timeline_css, try source("timeline.css"))
        XCTAssertEqual(PackageResources.timeline_js, try source("timeline.js"))
    }

    func testThePageInlinesTheStylesheetAndTheScriptOnce() throws {
        let page = DashboardPage.bytes
        let css = Array("<style>\n".utf8) + PackageResources.dashboard_css + Array("</style>\n<style>\n".utf8)
            + PackageResources.timeline_css + Array("</style>\n</head>".utf8)
        let js = Array("<script>\n".utf8) + PackageResources.dashboard_js + Array("</script>\n<script>\n".utf8)
            + PackageResources.timeline_js + Array("</script>\n</body>".utf8)
        XCTAssertEqual(occurrences(of: css, in: page), 1)
        XCTAssertEqual(occurrences(of: js, in: page), 1)
        for link in ["dashboard.css", "dashboard.js", "timeline.css", "timeline.js", "<link rel=\"stylesheet\"", "src="] {
            XCTAssertEqual(occurrences(of: Array(link.utf8), in: page), 0, "the page still has \(link)")
        }
        let files = [PackageResources.index_html, PackageResources.dashboard_css, PackageResources.dashboard_js,
                     PackageResources.timeline_css, PackageResources.timeline_js].map(\.count).reduce(0, +)
        let tags = [#"<link rel="stylesheet" href="dashboard.css">"#, #"<script src="dashboard.js"></script>"#,
                    #"<link rel="stylesheet" href="timeline.css">"#, #"<script src="timeline.js"></script>"#].map(\.utf8.count).reduce(0, +)
        XCTAssertEqual(page.count, files - tags + 2 * "<style>\n</style><script>\n</script>".utf8.count)
        XCTAssertTrue(page.starts(with: Array("<!doctype html>\n".utf8)))
    }

    func testInlineReplacesTheTagAndKeepsWhatSurroundsIt() {
        let page = DashboardPage.inline(Array("b{}\n".utf8), replacing: "<link>", open: "<style>\n", close: "</style>",
                                        in: Array("<head>\n<link>\n</head>".utf8))
        XCTAssertEqual(String(decoding: page, as: UTF8.self), "<head>\n<style>\nb{}\n</style>\n</head>")
    }
}
