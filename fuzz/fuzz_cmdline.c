/* fuzz_cmdline — jit_cmdline_split and jit_cmdline_parse_sudo.
 *
 * Input: a NUL-separated argv, exactly as /proc/PID/cmdline holds it
 * (argv[0] is sudo itself).
 * Invariants checked (abort on violation):
 *  - split honours its bounds (JIT_CMDLINE_MAX bytes, JIT_CMDLINE_MAX_ARGS
 *    arguments) and returns -E2BIG, never a truncated vector;
 *  - split is the inverse of joining with NULs: split(join(v)) == v;
 *  - parse_sudo writes *ret only on success; the command it returns is a
 *    suffix of argv (copied, in order), the target user is at most 64 bytes
 *    and is a prefix of some argument;
 *  - cmdline_done leaves the struct zeroed and everything freed (LeakSanitizer);
 *  - differential, against a model of sudo 1.9's own parse_args() built on
 *    glibc's getopt_long with sudo's option tables: whenever jit reports a
 *    command that could match a command pattern (argv[0] non-empty and not
 *    VAR=value; pam_jit resolves it to an absolute path), sudo must run
 *    exactly that argv, or refuse, or only list/validate/help. Anything
 *    else (sudo running another command, or editing files as root) lets a
 *    template pre-approve, or a deny rule miss, what really happens.
 *    JIT_FUZZ_NO_ORACLES=1 in the environment turns this check off, to
 *    keep fuzzing for memory errors while a known mismatch is open.
 */
#include "cmdline.h"
#include "strv.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

/* argv joined with NULs, each argument NUL-terminated. */
static char *join_nul(char *const *v, size_t *ret_len)
{
        size_t len = 0, off = 0;
        char *buf;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + 1;
        buf = malloc(len ? len : 1);
        CHECK(buf);
        for (size_t i = 0; v && v[i]; i++) {
                size_t l = strlen(v[i]) + 1;

                memcpy(buf + off, v[i], l);
                off += l;
        }
        *ret_len = len;
        return buf;
}

static bool strv_equal(char *const *a, char *const *b)
{
        size_t n = jit_strv_length(a);

        if (n != jit_strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return false;
        return true;
}

static size_t count_args(const uint8_t *data, size_t size)
{
        size_t n = 0;

        for (size_t off = 0; off < size; n++) {
                const uint8_t *nul = memchr(data + off, 0, size - off);

                off = nul ? (size_t)(nul - data) + 1 : size;
        }
        return n;
}

/* ---- a model of sudo's command line (sudo 1.9 src/parse_args.c) -------- */

enum sudo_verdict {
        SUDO_REFUSES,           /* usage error: nothing runs */
        SUDO_RUNS,              /* runs argv[optind..] (also via -s/-i: same words) */
        SUDO_EDITS,             /* sudoedit: the "command" is files edited as root */
        SUDO_OTHER,             /* -l, -v, -h, -V, -K: nothing runs */
};

#define OPT_HOSTNAME 256
static const char sudo_short_opts[] = "+Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv";
static const char edit_short_opts[] = "+Aa:BC:c:D:g:h::KkNnp:R:r:ST:t:u:V";
static const struct option sudo_long_opts[] = {
        { "background", no_argument, NULL, 'b' },
        { "preserve-env", optional_argument, NULL, 'E' },
        { "edit", no_argument, NULL, 'e' },
        { "set-home", no_argument, NULL, 'H' },
        { "login", no_argument, NULL, 'i' },
        { "remove-timestamp", no_argument, NULL, 'K' },
        { "list", no_argument, NULL, 'l' },
        { "preserve-groups", no_argument, NULL, 'P' },
        { "shell", no_argument, NULL, 's' },
        { "other-user", required_argument, NULL, 'U' },
        { "validate", no_argument, NULL, 'v' },
        /* sudoedit's long options start here */
        { "askpass", no_argument, NULL, 'A' },
        { "auth-type", required_argument, NULL, 'a' },
        { "bell", no_argument, NULL, 'B' },
        { "close-from", required_argument, NULL, 'C' },
        { "login-class", required_argument, NULL, 'c' },
        { "chdir", required_argument, NULL, 'D' },
        { "group", required_argument, NULL, 'g' },
        { "help", no_argument, NULL, 'h' },
        { "host", required_argument, NULL, OPT_HOSTNAME },
        { "reset-timestamp", no_argument, NULL, 'k' },
        { "no-update", no_argument, NULL, 'N' },
        { "non-interactive", no_argument, NULL, 'n' },
        { "prompt", required_argument, NULL, 'p' },
        { "chroot", required_argument, NULL, 'R' },
        { "role", required_argument, NULL, 'r' },
        { "stdin", no_argument, NULL, 'S' },
        { "command-timeout", required_argument, NULL, 'T' },
        { "type", required_argument, NULL, 't' },
        { "user", required_argument, NULL, 'u' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
};

enum { M_RUN = 0, M_EDIT, M_HELP, M_KILL, M_LIST, M_VALIDATE, M_VERSION };

static bool is_envar(char **argv, int argc)
{
        return optind < argc && argv[optind][0] != '/' && argv[optind][0] != '=' &&
               strchr(argv[optind], '=') != NULL;
}

static bool last_was(char **argv, const char *s)
{
        return optind > 1 && strcmp(argv[optind - 1], s) == 0;
}

/* Once-only options with a value that must not be empty. */
static bool take_once(uint64_t *seen, int ch, bool nonempty)
{
        uint64_t bit = UINT64_C(1) << (ch == OPT_HOSTNAME ? 'h' - 'A' : ch - 'A');

        if ((*seen & bit) || (nonempty && (!optarg || !*optarg)))
                return false;
        *seen |= bit;
        return true;
}

/* Returns the verdict; *ret_first is the index of the command's argv[0]. */
static enum sudo_verdict sudo_model(char **argv, int argc, int *ret_first)
{
        const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        bool edit_prog = strcmp(base, "sudoedit") == 0;
        const char *shorts = edit_prog ? edit_short_opts : sudo_short_opts;
        const struct option *longs = edit_prog ? &sudo_long_opts[11] : sudo_long_opts;
        int mode = edit_prog ? M_EDIT : M_RUN, ch;
        bool ignore_ticket = false, update_ticket = false, shell = false, login = false;
        uint64_t seen = 0;

        optind = 0;     /* glibc: full re-initialisation */
        opterr = 0;
        for (;;) {
                ch = getopt_long(argc, argv, shorts, longs, NULL);
                if (ch == -1) {
                        if (!last_was(argv, "--") && is_envar(argv, argc)) {
                                optind++;
                                continue;
                        }
                        break;
                }
                switch (ch) {
                case 'A': case 'B': case 'b': case 'H': case 'n': case 'P': case 'S':
                        break;
                case 'a': case 'c':             /* BSD auth, login classes: not on Linux */
                        return SUDO_REFUSES;
                case 'C':
                        if (!take_once(&seen, ch, true) || strtol(optarg, NULL, 10) < 3 ||
                            strspn(optarg, "0123456789") != strlen(optarg))
                                return SUDO_REFUSES;
                        break;
                case 'D': case 'g': case 'R': case 'r': case 't': case 'U': case 'u':
                        if (!take_once(&seen, ch, true))
                                return SUDO_REFUSES;
                        break;
                case 'p': case 'T':
                        if (!take_once(&seen, ch, false))
                                return SUDO_REFUSES;
                        break;
                case 'E':
                        if (optarg && strchr(optarg, '='))
                                return SUDO_REFUSES;
                        break;
                case 'e':
                        if (mode != M_RUN && mode != M_EDIT)
                                return SUDO_REFUSES;
                        mode = M_EDIT;
                        break;
                case 'h':
                        if (!optarg) {
                                if (last_was(argv, "-h") && argv[optind] && argv[optind][0] != '-' &&
                                    !is_envar(argv, argc)) {
                                        optarg = argv[optind++];
                                        if (!take_once(&seen, OPT_HOSTNAME, true))
                                                return SUDO_REFUSES;
                                        continue;
                                }
                                if (mode != M_RUN && mode != M_HELP && !edit_prog)
                                        return SUDO_REFUSES;
                                mode = M_HELP;
                                break;
                        }
                        /* fall through */
                case OPT_HOSTNAME:
                        if (!take_once(&seen, OPT_HOSTNAME, true))
                                return SUDO_REFUSES;
                        break;
                case 'i':
                        login = true;
                        break;
                case 's':
                        shell = true;
                        break;
                case 'K':
                        if (mode != M_RUN && mode != M_KILL)
                                return SUDO_REFUSES;
                        mode = M_KILL;
                        /* fall through */
                case 'k':
                        if (update_ticket)
                                return SUDO_REFUSES;
                        ignore_ticket = true;
                        break;
                case 'N':
                        if (ignore_ticket)
                                return SUDO_REFUSES;
                        update_ticket = true;
                        break;
                case 'l':
                        if (mode != M_RUN && mode != M_LIST)
                                return SUDO_REFUSES;
                        mode = M_LIST;
                        break;
                case 'v':
                        if (mode != M_RUN && mode != M_VALIDATE)
                                return SUDO_REFUSES;
                        mode = M_VALIDATE;
                        break;
                case 'V':
                        if (mode != M_RUN && mode != M_VERSION && !edit_prog)
                                return SUDO_REFUSES;
                        mode = M_VERSION;
                        break;
                default:                        /* unknown, ambiguous, missing value */
                        return SUDO_REFUSES;
                }
        }
        *ret_first = optind;
        if (mode == M_EDIT)
                return optind < argc ? SUDO_EDITS : SUDO_REFUSES;
        if (mode != M_RUN)
                return SUDO_OTHER;
        if (shell && login)
                return SUDO_REFUSES;
        if (optind >= argc && !shell && !login)
                return SUDO_REFUSES;
        return SUDO_RUNS;
}

static bool oracle_enabled(void)
{
        static int on = -1;

        if (on < 0) {
                const char *e = getenv("JIT_FUZZ_NO_ORACLES");

                on = !(e && *e && strcmp(e, "0") != 0);
        }
        return on;
}

static void dump_argv(const char *what, char *const *v, size_t n)
{
        fprintf(stderr, "%s:", what);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, " [%s]", v[i]);
        fprintf(stderr, "\n");
}

/* jit's idea of the command must be sudo's whenever jit claims to know it
 * exactly (JIT_COMMAND_EXACT: the only mode a command template can match). */
static void check_against_sudo(char **argv, const struct jit_cmdline *cl)
{
        static const char *const verdicts[] = { "refuses", "runs", "edits files", "other" };
        size_t n = jit_strv_length(argv), m = jit_strv_length(cl->argv);
        char **copy;
        int first = 0;
        enum sudo_verdict v;
        bool same;

        if (!oracle_enabled() || cl->mode != JIT_COMMAND_EXACT || !cl->argv || !cl->argv[0][0] ||
            strchr(cl->argv[0], '=') ||
            n > INT32_MAX)
                return;
        copy = calloc(n + 1, sizeof(char *));   /* getopt may reorder; keep ours intact */
        CHECK(copy);
        memcpy(copy, argv, n * sizeof(char *));
        v = sudo_model(copy, (int)n, &first);
        same = v == SUDO_RUNS && n - (size_t)first == m;
        for (size_t i = 0; same && i < m; i++)
                same = strcmp(copy[first + i], cl->argv[i]) == 0;
        if (v == SUDO_REFUSES || v == SUDO_OTHER || same) {
                free(copy);
                return;
        }
        dump_argv("sudo argv", argv, n);
        dump_argv("jit command", cl->argv, m);
        fprintf(stderr, "sudo %s", verdicts[v]);
        if (v != SUDO_REFUSES)
                dump_argv("", copy + first, n - (size_t)first);
        CHECK(!"jit_cmdline_parse_sudo disagrees with sudo about what runs");
}

static void check_parse(char **argv)
{
        struct jit_cmdline cl = { .target_user = (char *)"sentinel" };
        size_t n = jit_strv_length(argv), m;
        int r;

        r = jit_cmdline_parse_sudo(&cl, argv);
        if (r < 0) {
                CHECK(r == -EINVAL || r == -ENOMEM);
                CHECK(n == 0 || r == -ENOMEM || n >= 2); /* -EINVAL: no argv, or an option lacks its value */
                CHECK(cl.target_user && strcmp(cl.target_user, "sentinel") == 0);
                return;
        }
        CHECK(n >= 1);
        m = jit_strv_length(cl.argv);
        CHECK(m < n);
        CHECK(!cl.argv || cl.argv[m] == NULL);
        for (size_t i = 0; i < m; i++) {
                CHECK(cl.argv[i] != argv[n - m + i]);    /* a copy, not a borrow */
                CHECK(strcmp(cl.argv[i], argv[n - m + i]) == 0);
        }
        if (cl.target_user) {
                size_t ul = strlen(cl.target_user);
                bool found = false;

                CHECK(ul <= 64);
                for (size_t i = 1; i < n - m && !found; i++)
                        for (const char *p = argv[i]; *p && !found; p++)
                                found = strncmp(p, cl.target_user, ul) == 0;
                CHECK(found || ul == 0);
        }
        check_against_sudo(argv, &cl);
        jit_cmdline_done(&cl);
        CHECK(!cl.argv && !cl.target_user && !cl.non_interactive);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char **argv = (char **)1, **again = NULL;
        char *joined;
        size_t jl;
        int r;

        r = jit_cmdline_split((const char *)data, size, &argv);
        if (size > JIT_CMDLINE_MAX || count_args(data, size) > JIT_CMDLINE_MAX_ARGS) {
                CHECK(r == -E2BIG);
                CHECK(argv == (char **)1);
                return 0;
        }
        CHECK(r == 0);
        CHECK(jit_strv_length(argv) == count_args(data, size));

        joined = join_nul(argv, &jl);
        CHECK(jl <= size + 1);
        CHECK(jit_cmdline_split(joined, jl, &again) == 0);
        CHECK(strv_equal(argv, again));
        jit_strv_free(again);
        free(joined);

        check_parse(argv);
        jit_strv_free(argv);
        return 0;
}
