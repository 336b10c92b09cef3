/// A value kept out of line: one pointer in its owner, the value in an immutable heap box shared by
/// copies (setting a new value makes a new box). For a large field that most instances leave unset,
/// in a message the server keeps by the million (`ServiceNode.metadata`).
enum OutOfLine<Value: Equatable & Sendable>: Equatable, Sendable {
    indirect case value(Value)

    var value: Value {
        switch self {
        case .value(let value): return value
        }
    }
}
