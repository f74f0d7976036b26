/*
 * CNCurses: the ncursesw API as Swift 6 can use it.
 *
 * - The wide-character API (cchar_t, setcchar, wadd_wchnstr, wget_wch) is only declared when
 *   NCURSES_WIDECHAR / _XOPEN_SOURCE_EXTENDED are set before curses.h is included. SwiftPM drops
 *   the -D flags pkg-config gives, so they are set here.
 * - Swift 6 rejects ncurses' mutable globals (stdscr, curscr, LINES, COLS: "not concurrency-safe")
 *   and cannot import function-like macros (COLOR_PAIR, getmaxyx, A_BOLD, KEY_F). Each is wrapped
 *   in a `static inline` function named `cnc_…`.
 * - ncurses is not thread-safe: every function here must be called from the one thread that owns
 *   the terminal (CursesUI's CursesTerminal enforces this), except the signal helpers at the end.
 */
#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <ncursesw/curses.h>

/* MARK: Globals */

/** The standard screen of the current terminal (ncurses' `stdscr`). */
static inline WINDOW *cnc_stdscr(void) { return stdscr; }
/** What ncurses believes is on the physical screen (`curscr`). */
static inline WINDOW *cnc_curscr(void) { return curscr; }
/** Terminal height in rows (`LINES`), as of the last resize ncurses processed. */
static inline int cnc_lines(void) { return LINES; }
/** Terminal width in columns (`COLS`), as of the last resize ncurses processed. */
static inline int cnc_cols(void) { return COLS; }

/** `getmaxyx(win, *rows, *columns)`; both are 0 (not -1) when `win` is NULL. */
static inline void cnc_getmaxyx(WINDOW *win, int *rows, int *columns) {
    if (win == NULL) { *rows = 0; *columns = 0; return; }
    int y, x;
    getmaxyx(win, y, x);
    *rows = y < 0 ? 0 : y;
    *columns = x < 0 ? 0 : x;
}

/* MARK: Results */

static inline int cnc_err(void) { return ERR; }
static inline int cnc_ok(void) { return OK; }

/* MARK: Attributes and colours */

static inline attr_t cnc_a_normal(void) { return A_NORMAL; }
static inline attr_t cnc_a_bold(void) { return A_BOLD; }
static inline attr_t cnc_a_dim(void) { return A_DIM; }
static inline attr_t cnc_a_reverse(void) { return A_REVERSE; }
static inline attr_t cnc_a_underline(void) { return A_UNDERLINE; }
/** `COLOR_PAIR(n)`: the attribute bits selecting colour pair `n`. */
static inline attr_t cnc_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }

/* MARK: Key codes (values `wget_wch` reports with KEY_CODE_YES) */

static inline int cnc_key_code_yes(void) { return KEY_CODE_YES; }
static inline int cnc_key_resize(void) { return KEY_RESIZE; }
static inline int cnc_key_up(void) { return KEY_UP; }
static inline int cnc_key_down(void) { return KEY_DOWN; }
static inline int cnc_key_left(void) { return KEY_LEFT; }
static inline int cnc_key_right(void) { return KEY_RIGHT; }
static inline int cnc_key_enter(void) { return KEY_ENTER; }
static inline int cnc_key_backspace(void) { return KEY_BACKSPACE; }
/** `KEY_F(n)`: function key `n` (0…63). */
static inline int cnc_key_f(int n) { return KEY_F(n); }
static inline int cnc_key_ppage(void) { return KEY_PPAGE; }
static inline int cnc_key_npage(void) { return KEY_NPAGE; }
static inline int cnc_key_home(void) { return KEY_HOME; }
static inline int cnc_key_end(void) { return KEY_END; }
static inline int cnc_key_sleft(void) { return KEY_SLEFT; }
static inline int cnc_key_sright(void) { return KEY_SRIGHT; }
static inline int cnc_key_btab(void) { return KEY_BTAB; }
static inline int cnc_key_mouse(void) { return KEY_MOUSE; }

/* Mouse: button 1 presses and the wheel (buttons 4 and 5), reported at once (no click delay). */
static inline void cnc_enable_mouse(void) {
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
}

/* The pending mouse event after KEY_MOUSE: 1 button-1 press, 2 wheel up, 3 wheel down, 0 other
   (or none); its cell in *x, *y. */
static inline int cnc_get_mouse(int *x, int *y) {
    MEVENT event;
    if (getmouse(&event) != OK) return 0;
    *x = event.x;
    *y = event.y;
    if (event.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) return 1;
    if (event.bstate & BUTTON4_PRESSED) return 2;
#ifdef BUTTON5_PRESSED
    if (event.bstate & BUTTON5_PRESSED) return 3;
#endif
    return 0;
}

/* MARK: Screen and cells */

/** `newterm(NULL, stdout, stdin)`: `$TERM` on the standard streams; NULL when the terminal type
 *  is unknown (unlike `initscr`, which prints and exits). Swift 6 cannot touch `stdout`/`stdin`. */
static inline SCREEN *cnc_newterm_stdio(void) { return newterm(NULL, stdout, stdin); }

/** Whether the current terminal can address the cursor (has `cup`): `dumb` and friends cannot. */
static inline int cnc_has_cursor_addressing(void) {
    char *cup = tigetstr("cup");
    return cup != NULL && cup != (char *)-1;
}

/** An empty (all-zero) cell, for initialising arrays of `cchar_t` from Swift. */
static inline cchar_t cnc_blank_cell(void) { cchar_t cell; memset(&cell, 0, sizeof cell); return cell; }

/**
 * Sets `cell` to the characters `chars` (a spacing character followed by up to CCHARW_MAX - 1
 * combining characters; `count` of them, not NUL-terminated), attributes and colour pair.
 * @return OK or ERR (as `setcchar`).
 */
static inline int cnc_set_cell(cchar_t *cell, const wchar_t *chars, int count, attr_t attrs, int pair) {
    wchar_t text[CCHARW_MAX + 1];
    if (count > CCHARW_MAX) count = CCHARW_MAX;
    if (count < 0) count = 0;
    for (int i = 0; i < count; i++) text[i] = chars[i];
    text[count] = L'\0';
    return setcchar(cell, text, attrs, (NCURSES_PAIRS_T)pair, NULL);
}

/** Writes `count` cells at row `y`, column `x` without moving the cursor or wrapping (so the
 *  bottom-right cell can be written too): `mvwadd_wchnstr`, which is a macro. */
static inline int cnc_mvwadd_wchnstr(WINDOW *win, int y, int x, const cchar_t *cells, int count) {
    if (wmove(win, y, x) == ERR) return ERR;
    return wadd_wchnstr(win, cells, count);
}

/* Declared here because glibc's wchar.h only declares it for _XOPEN_SOURCE, which the
 * system modules Swift imports are not built with. */
extern int wcwidth(wchar_t c);

/** Columns `c` takes on screen in the current locale: 1 for most characters, 2 for wide CJK
 *  and emoji, 0 for combining marks, -1 for control or unprintable characters. */
static inline int cnc_wcwidth(wchar_t c) { return wcwidth(c); }

/** The largest number of characters one cell holds (`CCHARW_MAX`). */
static inline int cnc_ccharw_max(void) { return CCHARW_MAX; }

/* MARK: Signals (usable outside the terminal's thread) */

/**
 * Installs `handler` (SA_SIGINFO, SA_ONSTACK so it also runs on a stack overflow when an
 * alternate stack exists) for `signo`, with every crash signal blocked while it runs, and stores
 * the previous action in `previous`. Swift cannot set the handler union of `struct sigaction`.
 * @return 0 or -1 (errno set), as `sigaction`.
 */
static inline int cnc_install_signal_handler(int signo, void (*handler)(int, siginfo_t *, void *), struct sigaction *previous) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGSEGV);
    sigaddset(&action.sa_mask, SIGBUS);
    sigaddset(&action.sa_mask, SIGILL);
    sigaddset(&action.sa_mask, SIGFPE);
    sigaddset(&action.sa_mask, SIGABRT);
    return sigaction(signo, &action, previous);
}

/** Puts back an action saved by `cnc_install_signal_handler`. Async-signal-safe. */
static inline int cnc_restore_signal_action(int signo, const struct sigaction *previous) {
    return sigaction(signo, previous, NULL);
}

/** `info->si_code`: > 0 when the kernel raised the signal for a fault (SIGSEGV, SIGBUS, SIGILL,
 *  SIGFPE from an instruction), <= 0 when a process sent it (`raise`, `kill`, `abort`). */
static inline int cnc_signal_code(const siginfo_t *info) { return info == NULL ? 0 : info->si_code; }

/* MARK: Standard error while the screen is in curses mode */

/* Declared here for the same reason as wcwidth (glibc declares it only for _GNU_SOURCE). */
extern int memfd_create(const char *name, unsigned int flags);

/** An anonymous in-memory file, close-on-exec, or -1 (errno set). */
static inline int cnc_memfd_create(const char *name) { return memfd_create(name, 1U /* MFD_CLOEXEC */); }

/**
 * Copies everything in the file `from` (from its start) to `to`. Uses only read, write and
 * lseek, so it is async-signal-safe.
 */
static inline void cnc_copy_file_contents(int from, int to) {
    char buffer[4096];
    if (lseek(from, 0, SEEK_SET) < 0) return;
    for (;;) {
        ssize_t got = read(from, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return;
        ssize_t done = 0;
        while (done < got) {
            ssize_t put = write(to, buffer + done, (size_t)(got - done));
            if (put < 0 && errno == EINTR) continue;
            if (put <= 0) return;
            done += put;
        }
    }
}

#endif /* CNCURSES_SHIM_H */
