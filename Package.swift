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
        .executableTarget(
            name: "poolmon",
            dependencies: [
                "ProcessPool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Tasks used by the engine tests, shared by the test process and its worker executable.
        .target(name: "PoolTestSupport", dependencies: ["ProcessPool"], path: "Tests/PoolTestSupport"),
        .executableTarget(name: "PoolTestWorker", dependencies: ["PoolTestSupport"], path: "Tests/PoolTestWorker"),
        .testTarget(
            name: "ProcessPoolTests",
            dependencies: ["ProcessPool", "PoolTestSupport", "PoolTestWorker"]
        ),
        .testTarget(
            name: "PoolmonCLITests",
            dependencies: ["poolmon"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
