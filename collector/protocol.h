/*
 * The wire protocol between the memgate CLI (runner/) and the driver inside a test
 * binary (collector/driver.c): the one place its constants live. Both sides include this
 * header; nothing here is installed.
 *
 * Transport: a socketpair (MEMGATE_RUNNER_FD in the driver). Messages are lines of
 * space-separated tokens; strings are percent-escaped (' ', '%', control characters and
 * bytes >= 0x7f as %XX; "-" for an empty string) so each is one token. Figures are
 * "key=value" tokens, so adding one never shifts another.
 *
 * Driver -> CLI:
 *   HELLO memgate <version> pid=<pid> adapter=<name>   first line, always
 *   LIST suites=<n> tests=<m>                          the registry, then per suite
 *   U <suite> <active> <has_init> <has_cleanup> <name>
 *   T <test> <suite> <active> <name>                   and per test (registry order)
 *   H function|module <glob>                           the framework's own frames
 *   MOD <base> <lo> <hi> <path>                        the driver's modules
 *   ENDLIST
 *   RESULT <tag> wstatus=<w> timeout=<0|1> dur_ns=<n> res=<bytes> out=<bytes>
 *     followed by <res> bytes of the child's report and <out> bytes of its output;
 *     wstatus is the waitpid() status of the child
 *   WHOLE <bytes>   a report of a program measured as a whole (no framework run)
 *   ERROR <tag> <escaped message>   the driver could not run a command (harness error)
 *   BYE                             after EXIT, before the driver exits
 * CLI -> driver:
 *   HELLO memgate <version>         first line, answering the driver's
 *   RUN <tag> test <test> trace=<0|1> warmups=<n> repeat=<n>
 *   RUN <tag> suite <suite> trace=<0|1> warmups=<n> warm=<test:n,...|-> repeat=<n>
 *       reps=<test:n,...|-> skip=<i,j,...|->
 *     (repeat: measured runs of a test, each its own window; warm/reps per test)
 *   RUN <tag> test <test> ... fail=<k>   torture: the k-th allocation of the test fails
 *                                        (NULL, ENOMEM); the report says FAILED_ALLOC k hit=0|1
 *   RUN <tag> suiteonly <suite> trace=<0|1>
 *   EXIT
 *
 * A child's report (one per RUN; written as the child goes, so a crash keeps what came
 * before it): per measured window
 *   W <w> test <test> | W <w> suite <suite>     the window opens (a crash after it is
 *                                               blamed on it)
 *   R <w> net_bytes=.. net_blocks=.. peak_bytes=.. allocations=.. dur_ns=..
 *       pending_bytes=.. pending_blocks=..      the window closed (pending: blocks of
 *                                               the window still live at its close)
 *   F <w> <kind> <line> <file> <condition>      a failure the framework recorded
 *   A <w> key=value... line=<n> file=<esc>      the test's MEMGATE_BUDGET annotation
 *   S <w> sinit|scleanup|notrun                 suite init/cleanup failed, test not run
 *   L <w> leaked_bytes=.. object_growth=..      after the orderly shutdown
 *   D <w> <stack> size=.. count=.. [lost_size=.. lost_count=..]
 *                                                traced: blocks of the leak, per stack
 *   LOST <w> lost_bytes=.. lost_blocks=..        traced: the part of the leak no pointer
 *                                                reaches (lost.c)
 *   N <w> <stack> size=.. size_diff=.. count=.. count_diff=..   traced: net growth
 *   PK <w> <bytes>  P <w> <stack> size=.. count=..              traced: at the peak
 *   STK <stack> <ip>...  MOD <base> <lo> <hi> <path>            stacks and modules
 *   NOTE threads-running | NOTE exit-handlers=<n>
 *   X <status>                                   the test called exit(status)
 *   C <signal> addr=.. window=<w> net_bytes=.. net_blocks=.. peak_bytes=..
 *       allocations=.. pending_bytes=.. pending_blocks=..
 *   CSTK <ip>...                                 a crash: its site and the open window's
 *                                                figures up to it (then the child dies)
 *   MISUSE double-free|bad-trailer <addr>  FREE <ip>...          heap misuse, then abort
 *   END
 */
#ifndef MEMGATE_PROTOCOL_H
#define MEMGATE_PROTOCOL_H

/* Raised when a message changes meaning; both sides refuse a different version. */
#define MG_PROTOCOL_VERSION 2

/* Exit status of a test child that reported heap misuse (it then aborts; this is the
 * status if abort is caught), and of one whose report could not be written (the test
 * closed the result pipe). */
#define MG_EXIT_HEAP 86
#define MG_EXIT_NOREPORT 87

/* Traceback entries a child sends per window and kind, largest first. */
#define MG_WIRE_MAX_DIFFS 64
#define MG_WIRE_MAX_PEAK 32

/* A frame of a "STK" line that stands for frames left out of a deep stack: the
 * collector keeps the innermost and the outermost frames (the test's own) and puts
 * MG_FRAME_GAP | <number of frames left out> between them. No user-space return
 * address has these top bits. */
#define MG_FRAME_GAP 0xFFFF000000000000ull
#define MG_FRAME_GAP_MASK 0xFFFF000000000000ull
#define MG_FRAME_IS_GAP(ip) (((ip) & MG_FRAME_GAP_MASK) == MG_FRAME_GAP)
#define MG_FRAME_GAP_COUNT(ip) ((unsigned)((ip) & 0xFFFFFFFFu))

/* Tokens of one protocol line the CLI accepts (a stack line: STK, id, 64 frames). */
#define MG_WIRE_MAX_TOKENS 72

/* Output of one test child kept by the driver; the rest is counted and dropped. */
#define MG_WIRE_OUTPUT_CAP (64 * 1024)

#endif
