/// A job's completion order drawn at chunk granularity: `1 2 │ 3 4 │ 9 10 │ 5 6`.
///
/// Chunks are the pool's unit of work, so the strip lists them in the order they finished, each
/// as its items (1-based, in the order a worker runs them), with `│` between chunks. Chunks a
/// worker is partway through follow, their missing items as `·`. When the strip is wider than
/// the screen, the oldest chunks give way to a leading `…`: the newest is what moves.
struct CompletionStrip {
    /// Chunks up to this size list their items; bigger ones read `11–20`.
    static let listedChunkSize = 4

    static let separator = " │ "

    /// The strip for `job`, at most `width` columns.
    static func spans(for job: JobProgress, width: Int, style: CellStyle) -> [Span] {
        var tail: [[Span]] = job.openChunks.compactMap { chunk in
            job.plan.items(ofChunk: chunk).map { open(job, $0, style: style) }
        }
        let completed = job.recentChunkCompletions
        // Chunks not yet shown, counting down as the newest are laid out first.
        var left = completed.count
        var used = tail.reduce(0) { $0 + $1.width } + max(0, tail.count - 1) * separator.count
        var groups: [[Span]] = []
        for chunk in completed.newestFirst {
            guard let items = job.plan.items(ofChunk: chunk) else { break }
            let group = itemSpans(job, items, style: style)
            let needed = group.width + (tail.isEmpty && groups.isEmpty ? 0 : separator.count)
            // Keep room for the leading "… │ " unless this is the very first chunk.
            let reserve = left > 1 || job.chunksDone > completed.count ? 1 + separator.count : 0
            if used + needed + reserve > width { break }
            groups.append(group)
            used += needed
            left -= 1
        }
        let truncated = left > 0 || job.chunksDone > completed.count
        return joined(groups.reversed() + tail, truncated: truncated)
    }

    /// Delivered ranges in the order they arrived (for `imap_unordered`, where that order is the
    /// point), with the same separator and truncation as the completion order.
    static func deliverySpans(for job: JobProgress, width: Int, style: CellStyle) -> [Span] {
        let deliveries = job.recentDeliveries
        var groups: [[Span]] = []
        var used = 0
        var index = deliveries.count - 1
        while index >= 0 {
            let group = [Span(TextFormat.items(deliveries[index]), style)]
            let needed = group.width + (groups.isEmpty ? 0 : separator.count)
            if used + needed + (index > 0 ? 1 + separator.count : 0) > width { break }
            groups.insert(group, at: 0)
            used += needed
            index -= 1
        }
        let delivered = deliveries.elements.reduce(0) { $0 + $1.count }
        return joined(groups, truncated: index >= 0 || delivered < job.itemsDelivered)
    }

    /// `5 6` for a small chunk, `11–20` for a big one.
    static func itemsText(_ items: Range<Int>) -> String {
        items.count <= listedChunkSize ? items.map { "\($0 + 1)" }.joined(separator: " ") : TextFormat.items(items)
    }

    /// A finished chunk's items; a failed item reads `✗7` in red, so a poison item is seen
    /// as failed rather than as one more finished item.
    static func itemSpans(_ job: JobProgress, _ items: Range<Int>, style: CellStyle) -> [Span] {
        guard job.hasFailure(in: items) else { return [Span(itemsText(items), style)] }
        let failed = CellStyle(color: .red, bold: true)
        guard items.count <= listedChunkSize else {
            let count = items.filter(job.isFailed).count
            return [Span(TextFormat.items(items), style), Span(" ✗\(count)", failed)]
        }
        var spans: [Span] = []
        for index in items {
            if !spans.isEmpty { spans.append(Span(" ")) }
            spans.append(job.isFailed(index) ? Span("✗\(index + 1)", failed) : Span("\(index + 1)", style))
        }
        return spans
    }

    /// A chunk in progress: its finished items, `·` for the others (or `11–20 (3/10)` if big).
    private static func open(_ job: JobProgress, _ items: Range<Int>, style: CellStyle) -> [Span] {
        var dimmed = style
        dimmed.dim = true
        guard items.count <= listedChunkSize else {
            let finished = job.plan.chunk(containing: items.lowerBound).map(job.finishedCount(ofChunk:)) ?? 0
            return [Span(TextFormat.items(items), dimmed), Span(" (\(finished)/\(items.count))", dimmed)]
        }
        return [Span(items.map { job.isFinished($0) ? "\($0 + 1)" : "·" }.joined(separator: " "), dimmed)]
    }

    private static func joined(_ groups: [[Span]], truncated: Bool) -> [Span] {
        let line = CellStyle(dim: true)
        var spans: [Span] = truncated ? [Span("…", line)] : []
        for group in groups {
            if !spans.isEmpty { spans.append(Span(separator, line)) }
            spans += group
        }
        return spans
    }
}
