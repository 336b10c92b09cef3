// Placeholder until the server lands (issue 4).
import TopologyServer
#if canImport(Glibc)
import Glibc
#endif
fputs("topology-server: not yet implemented\n", stderr)
