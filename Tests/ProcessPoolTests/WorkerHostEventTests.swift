import ProcessPool
import Testing

/// `workerStarted` with the host of a worker started through ssh or srun: written, read back,
/// absent in older logs, and checked like every other field of an untrusted log.
@Suite("workerStarted host in the event log", .timeLimit(.minutes(4)))
struct WorkerHostEventTests {
    @Test("a host survives the round trip; a line without one reads as a local worker")
    func roundTrip() throws {
        let remote = PoolEvent(time: 5, kind: .workerStarted(slot: 1, pid: 4242, host: "node-1.example"))
        #expect(remote.jsonLine.contains(#""host":"node-1.example""#))
        #expect(try PoolEvent(jsonLine: remote.jsonLine) == remote)
        let old = #"{"v":1,"t":0.001,"event":"workerStarted","slot":0,"pid":6523}"#
        #expect(try PoolEvent(jsonLine: old).kind == .workerStarted(slot: 0, pid: 6523, host: nil))
        #expect(!PoolEvent(time: 1, kind: .workerStarted(slot: 0, pid: 1)).jsonLine.contains("host"))
    }

    @Test("a host that is empty, too long, not a string, or has spaces or control characters is refused", arguments: [
        #""host":"""#, #""host":"\#(String(repeating: "h", count: 256))""#, #""host":7"#, #""host":"a b""#, #""host":"a\u0007b""#,
    ])
    func badHosts(field: String) {
        let line = #"{"v":2,"t":0.5,"event":"workerStarted","slot":0,"pid":1,"# + field + "}"
        #expect(throws: (any Error).self) { try PoolEvent(jsonLine: line) }
    }
}
