// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "poolmon",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProcessPool", targets: ["ProcessPool"]),
        .executable(name: "poolmon", targets: ["poolmon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // `swift package generate-documentation --target ProcessPool` (the DocC catalog in
        // Sources/ProcessPool/ProcessPool.docc). A plugin only: nothing of it is linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Thin C wrappers for Linux calls Swift cannot make directly (variadic `syscall`/`prctl`,
        // the packed `epoll_event`, `posix_spawn_file_actions_addclosefrom_np`).
        .target(name: "CSystemShims"),
        // The engine: worker processes, wire protocol, scheduling, results and the event stream.
        .target(
            name: "ProcessPool",
            dependencies: [
                "CSystemShims",
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // Pure monitor logic: fold events into state, lay it out on a Canvas, map keys. No ncurses.
        .target(name: "PoolMonitor", dependencies: ["ProcessPool", .product(name: "DequeModule", package: "swift-collections")]),
        // ncursesw, with a shim header that sets the wide-character macros SwiftPM would drop.
        .systemLibrary(name: "CNCurses", providers: [.apt(["libncurses-dev"])]),
        // The only code that calls ncurses: owns the terminal, draws a Canvas, reads keys.
        .target(name: "CursesUI", dependencies: ["CNCurses", "PoolMonitor"]),
        .executableTarget(
            name: "poolmon",
            dependencies: [
                "ProcessPool",
                "PoolMonitor",
                "CursesUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The CPython instrumentation's sources: embedded in EmbeddedPython.swift by scripts/embed-python.sh.
            exclude: ["Python"]
        ),
        // The benchmark command: our pool against CPython's, side by side (`swift run -c release poolmon-bench`).
        .executableTarget(
            name: "poolmon-bench",
            dependencies: [
                "ProcessPool",
                "PoolMonitor",
                "CSystemShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/PoolBench"
        ),
        // A smoke run of the benchmark (tiny sizes, one round), so that it never rots.
        .testTarget(name: "PoolBenchTests", dependencies: ["poolmon-bench"]),
        // The library example of README.md, compiled so that it cannot rot (a test keeps the two equal).
        .executableTarget(name: "ReadmeExample", dependencies: ["ProcessPool"], path: "Examples/ReadmeExample"),
        // Tasks used by the engine tests, shared by the test process and its worker executable.
        .target(name: "PoolTestSupport", dependencies: ["ProcessPool"], path: "Tests/PoolTestSupport"),
        .executableTarget(name: "PoolTestWorker", dependencies: ["PoolTestSupport"], path: "Tests/PoolTestWorker"),
        .testTarget(
            name: "ProcessPoolTests",
            dependencies: ["ProcessPool", "PoolTestSupport", "PoolTestWorker", "CSystemShims", "TerminalTestSupport"]
        ),
        .testTarget(name: "PoolMonitorTests", dependencies: ["PoolMonitor", "ProcessPool", "PoolTestSupport"], exclude: ["Fixtures", "Golden"]),
        // A small program that draws a canvas and echoes keys, for the terminal tests in tmux.
        .executableTarget(name: "CursesHarness", dependencies: ["CursesUI"], path: "Tests/CursesHarness"),
        // tmux sessions and child processes with clean signal state, for the terminal tests.
        .target(name: "TerminalTestSupport", dependencies: ["CSystemShims"], path: "Tests/TerminalTestSupport"),
        .testTarget(name: "CursesUITests", dependencies: ["CursesHarness", "CursesUI", "TerminalTestSupport"]),
        // A program that uses ProcessPool as a user's would, watched by `poolmon watch -- CMD` and `attach` in the tests.
        .executableTarget(name: "WatchedProgram", dependencies: ["ProcessPool"], path: "Tests/WatchedProgram"),
        .testTarget(
            name: "PoolmonCLITests",
            dependencies: ["poolmon", "ReadmeExample", "WatchedProgram", "ProcessPool", "TerminalTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
