@testable import ProcessPool
import Testing

/// The exact bytes of each event's JSON line. The schema is a contract (event logs, the monitor
/// socket, the CPython instrumentation read it): a change to the writer that changes a byte
/// must show here, not in a user's parser.
@Suite("Event lines, byte for byte", .timeLimit(.minutes(4)))
struct EventLineBytesTests {
    static let job = JobDescriptor(id: 3, label: "sum \"quoted\"\n\u{1}é", function: "sum", itemCount: 10, chunksize: 2,
                                   chunksizeIsAutomatic: true, mode: .imapUnordered)
    static let queue = QueueDepth(chunks: 4, items: 9)
    static let details = WorkerExitDetails(lifetime: 1_500_000_000, peakRSSKilobytes: 10_240, oomKilled: true, job: 3, index: 7,
                                           lastOutput: ["out \"1\"", "tab\there"],
                                           requeued: [.init(job: 3, chunk: 2, start: 4, count: 2), .init(job: 3, chunk: 3, start: 6, count: 1)])

    /// Every kind of event.
    static let kinds: [PoolEvent.Kind] = [
        .poolCreated(pool: 2, pid: 4242, workers: 3),
        .workerStarted(slot: 1, pid: 42), .workerStarted(slot: 2, pid: 43, host: "node-1"),
        .workerReady(slot: 1, pid: 42),
        .workerExited(slot: 1, pid: 42, termination: .signaled(signal: 9), reason: .crashed),
        .workerExited(slot: 0, pid: 41, termination: .exited(code: 0), reason: .poolClosed),
        .workerExited(slot: 1, pid: 44, termination: .signaled(signal: 9), reason: .crashed, details: details),
        .jobSubmitted(job),
        .chunksQueued(job: 3, firstChunk: 0, chunks: 5, start: 0, count: 10, queue: queue),
        .chunksRecut(job: 3, chunksize: 10, firstChunk: 5, chunks: 2, start: 10, count: 15, queue: queue),
        .chunkRequeued(job: 3, chunk: 2, start: 5, count: 1, queue: queue),
        .chunkDispatched(job: 3, chunk: 0, start: 0, count: 2, pid: 42, queue: queue),
        .chunksDispatched(job: 3, firstChunk: 1, chunks: 3, start: 2, count: 5, pid: 42, queue: queue),
        .itemStarted(job: 3, index: 1, pid: 42),
        .itemFinished(job: 3, index: 1, pid: 42, error: nil, nanoseconds: 1_000_000_123),
        .itemFinished(job: 3, index: 2, pid: 42, error: "boom \u{1}", nanoseconds: 5),
        .itemsFinished(job: 3, start: 4, count: 512, pid: 42, nanoseconds: 98_765),
        .itemRetried(job: 3, index: 2, attempt: 2, deadPID: 40),
        .resultsDelivered(job: 3, start: 0, count: 4),
        .jobProgress(job: 3, finished: 7, failed: 1, delivered: 4, chunksDone: 3),
        .jobCompleted(job: 3, error: nil), .jobCompleted(job: 4, error: "failed"),
        .jobCancelled(job: 6),
        .poolResized(from: 2, to: 3), .poolStateChanged(.closed),
        .settingsChanged(chunksize: 8), .settingsChanged(chunksize: nil),
        .workerOutput(pid: 42, line: "Worker 42 is processing sum(1,11)"),
        .workerFault(pid: 0, message: "bad \\ path"), .eventsDropped(count: 17),
    ]

    /// Numbers at the edges of their types, past what a reader accepts (it refuses them as
    /// untrusted), written all the same: a writer must not trap or wrap on them.
    static let edges: [(PoolEvent, String)] = [
        (PoolEvent(time: UInt64.max, kind: .chunksDispatched(job: Int.max, firstChunk: 1, chunks: 3, start: 2, count: 5, pid: -1,
                                                              queue: QueueDepth(chunks: 0, items: Int.min))),
         #"{"v":3,"t":18446744073.709551615,"event":"chunksDispatched","job":9223372036854775807,"chunk":1,"chunks":3,"start":2,"count":5,"pid":-1,"queued_chunks":0,"queued_items":-9223372036854775808}"#),
        (PoolEvent(time: 0, kind: .itemStarted(job: 0, index: Int.min, pid: Int32.min)),
         #"{"v":3,"t":0.000000000,"event":"itemStarted","job":0,"index":-9223372036854775808,"pid":-2147483648}"#),
        (PoolEvent(time: 1, kind: .itemFinished(job: 1, index: 2, pid: Int32.max, error: nil, nanoseconds: UInt64.max)),
         #"{"v":3,"t":0.000000001,"event":"itemFinished","job":1,"index":2,"pid":2147483647,"ns":18446744073709551615}"#),
        (PoolEvent(time: 2, kind: .settingsChanged(chunksize: Int.min)),
         #"{"v":3,"t":0.000000002,"event":"settingsChanged","chunksize":-9223372036854775808}"#),
    ]

    static let times: [UInt64] = [0, 7, 999_999_999, 1_000_000_000, 1_234_567_891, 86_400_123_456_789]

    /// What ``kinds`` are written as, at ``times`` in turn.
    static let expected: [String] = [
        #"{"v":3,"t":0.000000000,"event":"poolCreated","pool":2,"pid":4242,"workers":3}"#,
        #"{"v":3,"t":0.000000007,"event":"workerStarted","slot":1,"pid":42}"#,
        #"{"v":3,"t":0.999999999,"event":"workerStarted","slot":2,"pid":43,"host":"node-1"}"#,
        #"{"v":3,"t":1.000000000,"event":"workerReady","slot":1,"pid":42}"#,
        #"{"v":3,"t":1.234567891,"event":"workerExited","slot":1,"pid":42,"signal":9,"reason":"crashed"}"#,
        #"{"v":3,"t":86400.123456789,"event":"workerExited","slot":0,"pid":41,"exit":0,"reason":"poolClosed"}"#,
        #"{"v":3,"t":0.000000000,"event":"workerExited","slot":1,"pid":44,"signal":9,"reason":"crashed","lifetime_ns":1500000000,"peak_rss_kb":10240,"oom_kill":true,"item_job":3,"item_index":7,"output":["out \"1\"","tab\there"],"requeued":[{"job":3,"chunk":2,"start":4,"count":2},{"job":3,"chunk":3,"start":6,"count":1}]}"#,
        #"{"v":3,"t":0.000000007,"event":"jobSubmitted","job":3,"label":"sum \"quoted\"\n\u0001é","function":"sum","items":10,"chunksize":2,"auto":true,"mode":"imap_unordered"}"#,
        #"{"v":3,"t":0.999999999,"event":"chunksQueued","job":3,"chunk":0,"chunks":5,"start":0,"count":10,"queued_chunks":4,"queued_items":9}"#,
        #"{"v":3,"t":1.000000000,"event":"chunksRecut","job":3,"chunksize":10,"chunk":5,"chunks":2,"start":10,"count":15,"queued_chunks":4,"queued_items":9}"#,
        #"{"v":3,"t":1.234567891,"event":"chunkRequeued","job":3,"chunk":2,"start":5,"count":1,"queued_chunks":4,"queued_items":9}"#,
        #"{"v":3,"t":86400.123456789,"event":"chunkDispatched","job":3,"chunk":0,"start":0,"count":2,"pid":42,"queued_chunks":4,"queued_items":9}"#,
        #"{"v":3,"t":0.000000000,"event":"chunksDispatched","job":3,"chunk":1,"chunks":3,"start":2,"count":5,"pid":42,"queued_chunks":4,"queued_items":9}"#,
        #"{"v":3,"t":0.000000007,"event":"itemStarted","job":3,"index":1,"pid":42}"#,
        #"{"v":3,"t":0.999999999,"event":"itemFinished","job":3,"index":1,"pid":42,"ns":1000000123}"#,
        #"{"v":3,"t":1.000000000,"event":"itemFinished","job":3,"index":2,"pid":42,"ns":5,"error":"boom \u0001"}"#,
        #"{"v":3,"t":1.234567891,"event":"itemsFinished","job":3,"start":4,"count":512,"pid":42,"ns":98765}"#,
        #"{"v":3,"t":86400.123456789,"event":"itemRetried","job":3,"index":2,"attempt":2,"dead_pid":40}"#,
        #"{"v":3,"t":0.000000000,"event":"resultsDelivered","job":3,"start":0,"count":4}"#,
        #"{"v":3,"t":0.000000007,"event":"jobProgress","job":3,"finished":7,"failed":1,"delivered":4,"chunks_done":3}"#,
        #"{"v":3,"t":0.999999999,"event":"jobCompleted","job":3}"#,
        #"{"v":3,"t":1.000000000,"event":"jobCompleted","job":4,"error":"failed"}"#,
        #"{"v":3,"t":1.234567891,"event":"jobCancelled","job":6}"#,
        #"{"v":3,"t":86400.123456789,"event":"poolResized","from":2,"to":3}"#,
        #"{"v":3,"t":0.000000000,"event":"poolState","state":"closed"}"#,
        #"{"v":3,"t":0.000000007,"event":"settingsChanged","chunksize":8}"#,
        #"{"v":3,"t":0.999999999,"event":"settingsChanged"}"#,
        #"{"v":3,"t":1.000000000,"event":"workerOutput","pid":42,"line":"Worker 42 is processing sum(1,11)"}"#,
        #"{"v":3,"t":1.234567891,"event":"workerFault","pid":0,"message":"bad \\ path"}"#,
        #"{"v":3,"t":86400.123456789,"event":"eventsDropped","count":17}"#,
    ]

    @Test("every kind of event is written as before, byte for byte, and reads back as itself")
    func pinnedBytes() throws {
        #expect(Self.kinds.count == Self.expected.count)
        for (i, kind) in Self.kinds.enumerated() {
            let event = PoolEvent(time: Self.times[i % Self.times.count], kind: kind)
            var bytes = Array("the line before\n".utf8)
            event.appendJSONLine(to: &bytes)
            #expect(bytes == Array(("the line before\n" + Self.expected[i]).utf8))
            #expect(event.jsonLine == Self.expected[i])
            #expect(try PoolEvent(jsonLine: Self.expected[i]) == event, "\(i) \(Self.expected[i])")
        }
    }

    @Test("numbers at the edges of their types are written whole")
    func edgeNumbers() {
        for (event, line) in Self.edges {
            #expect(event.jsonLine == line)
        }
    }
}
