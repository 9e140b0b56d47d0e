/* jitctl template list|show|validate|add|remove — pre-approved templates.
 * Templates live in jit.conf or, one per file, in /etc/jit/templates.d/
 * NAME.json. list/show/validate read the policy here; add and remove go
 * through the service (root), which checks the whole policy with the
 * change, writes the file atomically, reloads and records it in the
 * audit log. */
#include "jitctl.h"
#include "cleanup.h"
#include "config.h"
#include "duration.h"
#include "proto.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_live(struct jit_config **ret)
{
        _cleanup_strv_free_ char **errors = NULL;
        int r = jit_config_load(JIT_CONFIG_PATH, ret, &errors);

        if (r < 0) {
                for (size_t i = 0; errors && errors[i]; i++)
                        fprintf(stderr, "%s: %s\n", JIT_CONFIG_PATH, errors[i]);
                return jit_fail(JIT_EXIT_CONFIG, "%s cannot be used (%s): run jitctl policy check", JIT_CONFIG_PATH,
                                r == -EINVAL ? "invalid" : strerror(-r));
        }
        return 0;
}

static void add_list(cJSON *o, const char *k, char *const *v)
{
        cJSON *a;

        if (!v)
                return;
        a = cJSON_AddArrayToObject(o, k);
        for (size_t i = 0; v[i]; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

static cJSON *template_json(const struct jit_template *t)
{
        cJSON *o = cJSON_CreateObject();
        char ttl[32];

        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "role", t->role);
        if (t->description)
                cJSON_AddStringToObject(o, "description", t->description);
        if (t->max_ttl && jit_duration_format(ttl, sizeof(ttl), t->max_ttl) == 0)
                cJSON_AddStringToObject(o, "max_ttl", ttl);
        add_list(o, "users", t->match.users);
        add_list(o, "groups", t->match.groups);
        add_list(o, "services", t->match.services);
        add_list(o, "commands", t->match.commands);
        add_list(o, "target_users", t->match.target_users);
        add_list(o, "units", t->match.units);
        if (t->match.sources.set)
                cJSON_AddNumberToObject(o, "sources", (double)(t->match.sources.n + t->match.sources.local));
        if (t->match.hours.n)
                cJSON_AddNumberToObject(o, "hours", (double)t->match.hours.n);
        if (t->match.tty != JIT_TTY_ANY)
                cJSON_AddBoolToObject(o, "tty", t->match.tty == JIT_TTY_REQUIRED);
        return o;
}

static int template_list(void)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        int r = load_live(&c);

        if (r)
                return r;
        if (jit_g.json) {
                cJSON *a = cJSON_CreateArray();
                char *t;

                for (size_t i = 0; i < c->n_templates; i++)
                        cJSON_AddItemToArray(a, template_json(&c->templates[i]));
                t = cJSON_Print(a);
                printf("%s\n", t ? t : "[]");
                free(t);
                cJSON_Delete(a);
                return JIT_EXIT_OK;
        }
        if (!c->n_templates) {
                printf("No templates.\n");
                return JIT_EXIT_OK;
        }
        printf("%-24s  %-12s  %-8s  %s\n", "TEMPLATE", "ROLE", "MAX TTL", "DESCRIPTION");
        for (size_t i = 0; i < c->n_templates; i++) {
                const struct jit_template *t = &c->templates[i];
                char ttl[32] = "role";

                if (t->max_ttl)
                        (void)jit_duration_format(ttl, sizeof(ttl), t->max_ttl);
                printf("%-24s  %-12s  %-8s  %s\n", t->name, t->role, ttl, t->description ? t->description : "");
        }
        return JIT_EXIT_OK;
}

static int template_show(const char *name)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        cJSON *j;
        char *t;
        int r = load_live(&c);

        if (r)
                return r;
        for (size_t i = 0; i < c->n_templates; i++) {
                if (strcmp(c->templates[i].name, name) != 0)
                        continue;
                j = template_json(&c->templates[i]);
                t = cJSON_Print(j);
                printf("%s\n", t ? t : "{}");
                free(t);
                cJSON_Delete(j);
                return JIT_EXIT_OK;
        }
        return jit_fail(JIT_EXIT_NOTFOUND, "no template %s", name);
}

static int read_file(const char *path, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char *buf;
        ssize_t n;

        if (fd < 0)
                return jit_fail(JIT_EXIT_NOTFOUND, "%s: %s", path, strerror(errno));
        buf = calloc(1, JIT_CONFIG_MAX_SIZE + 1);
        if (!buf)
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        n = read(fd, buf, JIT_CONFIG_MAX_SIZE + 1);
        if (n < 0 || n > JIT_CONFIG_MAX_SIZE) {
                free(buf);
                return jit_fail(JIT_EXIT_ERROR, "%s: %s", path, n < 0 ? strerror(errno) : "too large");
        }
        *ret = buf;
        return 0;
}

/* NAME from --name or the file's name without .json */
static int name_of(const char *path, const char *given, char buf[64])
{
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t l = strlen(base);

        if (given)
                snprintf(buf, 64, "%s", given);
        else if (l > 5 && l < 64 + 5 && strcmp(base + l - 5, ".json") == 0)
                snprintf(buf, 64, "%.*s", (int)(l - 5), base);
        else
                return jit_usage_error("cannot tell the template's name from \"%s\": give --name NAME", path);
        return 0;
}

/* validate: the live policy plus this template, checked here as the
 * service would check it; add: the service does the same, then writes. */
static int template_send(const char *path, const char *given, bool dry_run)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *text = NULL;
        cJSON *extra;
        char name[64];
        int r;

        r = name_of(path, given, name);
        if (r)
                return r;
        r = read_file(path, &text);
        if (r)
                return r;
        if (!dry_run) {
                extra = cJSON_CreateObject();
                cJSON_AddStringToObject(extra, "template", text);
                return jit_simple_call(JIT_OP_TEMPLATE_ADD, name, extra);
        }
        r = jit_config_load_extra(JIT_CONFIG_PATH, 0, name, text, strlen(text), &c, &errors);
        if (r < 0) {
                for (size_t i = 0; errors && errors[i]; i++)
                        fprintf(stderr, "%s: %s\n", path, errors[i]);
                return jit_fail(JIT_EXIT_CONFIG, "template %s does not fit the policy%s%s", name,
                                errors ? "" : ": ", errors ? "" : strerror(-r));
        }
        for (size_t i = 0; c->warnings && c->warnings[i]; i++)
                fprintf(stderr, "%s: %s\n", path, c->warnings[i]);
        if (c->warnings)
                return JIT_EXIT_CONFIG;
        printf("template %s: OK with the policy in %s\n", name, JIT_CONFIG_PATH);
        return JIT_EXIT_OK;
}

int verb_template(int argc, char **argv)
{
        static const struct option lo[] = { { "name", required_argument, NULL, 'n' }, {} };
        const char *name = NULL;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'n': name = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        argv += optind;
        argc -= optind;
        if (argc == 1 && strcmp(argv[0], "list") == 0)
                return template_list();
        if (argc == 2 && strcmp(argv[0], "show") == 0)
                return template_show(argv[1]);
        if (argc == 2 && strcmp(argv[0], "validate") == 0)
                return template_send(argv[1], name, true);
        if (argc == 2 && strcmp(argv[0], "add") == 0)
                return template_send(argv[1], name, false);
        if (argc == 2 && strcmp(argv[0], "remove") == 0)
                return jit_simple_call(JIT_OP_TEMPLATE_REMOVE, argv[1], NULL);
        return jit_usage_error("usage: jitctl template list | show NAME | validate FILE | add FILE [--name NAME] | remove NAME");
}
