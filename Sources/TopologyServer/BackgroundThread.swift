import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts a thread that never takes a signal: it starts with all of them blocked (a new thread
/// inherits the mask of the one that creates it), so SIGTERM and SIGINT reach the event loop's
/// signalfd, never a default handler on a helper thread.
func startBackgroundThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.name = name
    var all = sigset_t()
    var previous = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_BLOCK, &all, &previous)
    thread.start()
    pthread_sigmask(SIG_SETMASK, &previous, nil)
}
