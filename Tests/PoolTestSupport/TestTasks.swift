import ProcessPool
public enum TestTasks {
    public static let registry: TaskRegistry = { var r = TaskRegistry(); _ = r.register("add") { (p: Pair<Int, Int>) in p.first + p.second }; return r }()
}
