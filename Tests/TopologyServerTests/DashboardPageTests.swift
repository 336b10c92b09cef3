import Foundation
@testable import TopologyServer
import XCTest

/// The page served at `/` is Sources/TopologyServer/Dashboard/index.html with its stylesheet and
/// scripts inlined (the HTTP behaviour is in HTTPEndToEndTests and Tests/dashboard).
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
        for file in DashboardPage.stylesheets + DashboardPage.scripts {
            XCTAssertEqual(file.bytes, try source(file.name), file.name)
        }
    }

    func testThePageInlinesTheStylesheetAndEachScriptOnce() throws {
        let page = DashboardPage.bytes
        var tags = 0, inlined = 0
        for (index, sheet) in DashboardPage.stylesheets.enumerated() {
            // Each in index.html's order: the last one closes the head.
            let after = index + 1 < DashboardPage.stylesheets.count ? "</style>\n<style>" : "</style>\n</head>"
            XCTAssertEqual(occurrences(of: Array("<style>\n".utf8) + sheet.bytes + Array(after.utf8), in: page), 1, sheet.name)
            tags += "<link rel=\"stylesheet\" href=\"\(sheet.name)\">".utf8.count
            inlined += "<style>\n</style>".utf8.count
        }
        for (index, script) in DashboardPage.scripts.enumerated() {
            // Each in index.html's order: the last one closes the body.
            let after = index + 1 < DashboardPage.scripts.count ? "</script>\n<script>" : "</script>\n</body>"
            XCTAssertEqual(occurrences(of: Array("<script>\n".utf8) + script.bytes + Array(after.utf8), in: page), 1, script.name)
            tags += "<script src=\"\(script.name)\"></script>".utf8.count
            inlined += "<script>\n</script>".utf8.count
        }
        for link in ["dashboard.css", "timeline.css", "<link rel=\"stylesheet\"", "src="] {
            XCTAssertEqual(occurrences(of: Array(link.utf8), in: page), 0, "the page still has \(link)")
        }
        let files = DashboardPage.stylesheets + DashboardPage.scripts
        XCTAssertEqual(page.count, PackageResources.index_html.count + files.map(\.bytes.count).reduce(0, +) - tags + inlined)
        XCTAssertTrue(page.starts(with: Array("<!doctype html>\n".utf8)))
    }

    func testInlineReplacesTheTagAndKeepsWhatSurroundsIt() {
        let page = DashboardPage.inline(Array("b{}\n".utf8), replacing: "<link>", open: "<style>\n", close: "</style>",
                                        in: Array("<head>\n<link>\n</head>".utf8))
        XCTAssertEqual(String(decoding: page, as: UTF8.self), "<head>\n<style>\nb{}\n</style>\n</head>")
    }
}
