/* jitctl — the jit command line: one dispatch table, one file per verb. */
#include "jitctl.h"
#include "proto.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jit_globals jit_g = { .socket = JIT_SOCKET_PATH };

static const struct verb {
        const char *name;
        int min_args, max_args; /* positional, after the verb */
        int (*fn)(int argc, char **argv);
        const char *synopsis;
} verbs[] = {
        { "request", 1, 1, verb_request, "request ROLE [--for DURATION] [--reason TEXT] [--task TEXT] [--single-use] [--bind session|unit] [--wait [--timeout DURATION]] [--hosts PATTERN]" },
        { "wait",    1, 1, verb_wait,    "wait REQUEST [--timeout DURATION]" },
        { "list",    0, 0, verb_list,    "list [--active] [--all]" },
        { "show",    1, 1, verb_show,    "show REQUEST|GRANT" },
        { "approve", 1, 1, verb_approve, "approve REQUEST [--for DURATION] [--comment TEXT] [--passphrase-file FILE] [--key FILE]" },
        { "deny",    1, 1, verb_deny,    "deny REQUEST --reason TEXT [--passphrase-file FILE] [--key FILE]" },
        { "cancel",  1, 1, verb_cancel,  "cancel REQUEST" },
        { "revoke",  1, 1, verb_revoke,  "revoke GRANT" },
        { "done",    1, 1, verb_done,    "done GRANT              (the task is over: end your grant now)" },
        { "reconcile", 0, 0, verb_reconcile, "reconcile               (root; run by jit-reconcile.timer)" },
        { "expire",  1, 1, verb_expire,  "expire GRANT            (root; run by the expiry timer)" },
        { "extend",  1, 1, verb_extend,  "extend GRANT --for DURATION [--reason TEXT] [--wait [--timeout DURATION]]   (a fresh decision)" },
        { "break-glass", 1, 1, verb_break_glass, "break-glass ROLE --reason TEXT [--for DURATION] [--passphrase-file FILE] [--key FILE]" },
        { "review",  1, 1, verb_review,  "review list | review REQUEST --comment TEXT" },
        { "policy",  1, 2, verb_policy,  "policy check [FILE] | policy test --user U --role R [CONTEXT...] [--config FILE] | policy replay [--since DURATION] [--state-dir DIR] [FILE]" },
        { "template",1, 2, verb_template,"template list | show NAME | validate FILE | add FILE [--name NAME] | remove NAME" },
        { "audit",   1, 64, verb_audit,  "audit verify|show|export [--file LOG] [--key PUB] [--user U] [--grant G] [--since DURATION] | audit setgid --grant GRANT [PATH...]" },
        { "keygen",  0, 0, verb_keygen,  "keygen [--passphrase-file FILE] [--force]   (an approver's signing key)" },
        { "approver",1, 3, verb_approver,"approver add USER PUBFILE | remove USER | list   (root)" },
        { "verify",  1, 1, verb_verify,  "verify GRANT|REQUEST   (check its signed decision)" },
        { "doctor",  0, 0, verb_doctor,  "doctor [--pam-dir DIR] [--config FILE] [--state-dir DIR]   (what is wrong here, and the fix)" },
        { "serve",   0, 0, verb_serve,   "serve [--config FILE] [--state-dir DIR] [--socket PATH] [--foreground]" },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: jitctl [--json] [--socket PATH] VERB [ARGS]\n\nVerbs:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %s\n", verbs[i].synopsis);
        fprintf(f, "\nThe fleet's queue (through jit-fleet, see jit-fleet(8); [--fleet-socket PATH] for another socket):\n"
                   "  --fleet list [--host H] [--role R] [--user U]\n"
                   "  --fleet show [HOST/]REQUEST\n"
                   "  --fleet approve [HOST/]REQUEST... [--comment TEXT] [--passphrase-file FILE] [--key FILE] [--timeout S]\n"
                   "  --fleet deny [HOST/]REQUEST... --reason TEXT [--passphrase-file FILE] [--key FILE] [--timeout S]\n"
                   "  --fleet audit verify [--file LOG] [--host H]\n");
        fprintf(f, "\nSee jitctl(8) for the exit codes and examples.\n");
}

/* Take the global options out of argv, wherever they are. */
static int take_globals(int *argc, char **argv)
{
        int out = 1;

        for (int i = 1; i < *argc; i++) {
                if (strcmp(argv[i], "--json") == 0) {
                        jit_g.json = true;
                } else if (strcmp(argv[i], "--socket") == 0) {
                        if (i + 1 >= *argc)
                                return -1;
                        jit_g.socket = argv[++i];
                } else if (strncmp(argv[i], "--socket=", 9) == 0) {
                        jit_g.socket = argv[i] + 9;
                } else if (strcmp(argv[i], "--fleet") == 0) {
                        jit_g.fleet = true;
                } else if (strcmp(argv[i], "--fleet-socket") == 0) {
                        if (i + 1 >= *argc)
                                return -1;
                        jit_g.fleet_socket = argv[++i];
                } else if (strncmp(argv[i], "--fleet-socket=", 15) == 0) {
                        jit_g.fleet_socket = argv[i] + 15;
                } else {
                        argv[out++] = argv[i];
                }
        }
        argv[out] = NULL;
        *argc = out;
        return 0;
}

static int count_positional(int argc, char **argv)
{
        static const char *const with_arg[] = { "--for", "--reason", "--comment", "--timeout",
                                                "--config", "--state-dir", "--socket", "--file", "--key",
                                                "--user", "--grant", "--since", "--passphrase-file",
                                                "--role", "--rhost", "--tty", "--time", "--command", "--unit",
                                                "--service", "--target-user", "--name", "--requests", "--denials",
                                                "--grants", "--break-glass-count", "--session", "--groups",
                                                "--task", "--bind", "--pam-dir", "--hosts", NULL };
        int n = 0;

        for (int i = 2; i < argc; i++) {
                bool takes = false;

                if (argv[i][0] != '-') {
                        n++;
                        continue;
                }
                for (size_t k = 0; with_arg[k]; k++)
                        if (strcmp(argv[i], with_arg[k]) == 0)
                                takes = true;
                if (takes)
                        i++;
        }
        return n;
}

int main(int argc, char **argv)
{
        int n;

        setlocale(LC_ALL, "C");
        if (take_globals(&argc, argv) < 0)
                return jit_usage_error("--socket and --fleet-socket need a path");
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? JIT_EXIT_USAGE : JIT_EXIT_OK;
        }
        if (jit_g.fleet)
                return verb_fleet(argc - 1, argv + 1);
        if (strcmp(argv[1], "--version") == 0) {
                printf("jitctl %s\n", JIT_VERSION);
                return JIT_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
                if (strcmp(argv[1], verbs[i].name) != 0)
                        continue;
                n = count_positional(argc, argv);
                if (n < verbs[i].min_args || n > verbs[i].max_args)
                        return jit_usage_error("usage: jitctl %s", verbs[i].synopsis);
                return verbs[i].fn(argc - 1, argv + 1);
        }
        return jit_usage_error("unknown verb \"%s\" (see jitctl --help)", argv[1]);
}
