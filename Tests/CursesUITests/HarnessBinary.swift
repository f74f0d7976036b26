import Foundation

/// Where the `CursesHarness` executable is: beside the test bundle, which SwiftPM builds into
/// the same products directory because this test target depends on it.
enum HarnessBinary {
    struct NotFound: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "CursesHarness executable not found; looked in: \(searched.joined(separator: ", ")). Build it with the tests (swift test builds it, the test target depends on it)."
        }
    }

    /// The harness's path.
    static func path() throws -> String {
        var directories: [URL] = []
        // On Linux the tests run in `<products>/<package>PackageTests.xctest`, an executable.
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        directories.append(Bundle.main.bundleURL)
        var searched: [String] = []
        for directory in directories {
            // On macOS the bundle sits at `<products>/….xctest/Contents/MacOS/…`.
            var candidate = directory
            for _ in 0..<4 {
                let path = candidate.appendingPathComponent("CursesHarness").path
                searched.append(path)
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                candidate = candidate.deletingLastPathComponent()
            }
        }
        throw NotFound(searched: searched)
    }
}
