// Placeholder until the core lands (issue 3).
import TopologyWire
