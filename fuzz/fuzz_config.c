/* fuzz_config — jit_config_parse, the policy in /etc/jit/jit.conf.
 *
 * Input: the file's bytes (not NUL-terminated: the parser gets a length).
 * Invariants checked (abort on violation), from config.h's MUSTs:
 *  - the result is all or nothing: 0 with a config and no errors, or
 *    -EINVAL/-ENOMEM with no config and at least one error;
 *  - every error names its JSON path ("$..." then ": ");
 *  - in an accepted config: every role has a valid name and a group, a
 *    max_ttl in 1..JIT_DURATION_MAX and default_ttl <= max_ttl, requesters,
 *    a tier (auto, owner or security; approvers for owner; a "security"
 *    block for security or a risk.security threshold), a risk.deny above
 *    risk.security, and a break-glass max_ttl within its own with someone
 *    on call; every template names an existing role, does not outlast it
 *    and matches something; every command pattern is absolute; lists are
 *    never present-but-empty; hours are non-empty windows within a day;
 *    a service account names its units and a human none; the security
 *    tier needs 2..16 approvals; a change window ends after it starts;
 *  - conflicts (c->warnings) are "$.templates.NAME: conflict: ..." lines;
 *  - the same text parses the same way twice; with ret_errors NULL too;
 *  - no two roles and no two templates share a name. config.c refuses
 *    duplicate keys everywhere else because "a second value could hide the
 *    first"; a second role of the same name is never found by
 *    jit_config_find_role, and a second template does not replace the
 *    first (both pre-approve). JIT_FUZZ_NO_ORACLES=1 in the environment
 *    turns this check off while the finding is open.
 */
#include "config.h"
#include "duration.h"
#include "strv.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

static void check_list(char *const *v, bool commands)
{
        if (!v)
                return;
        CHECK(v[0] != NULL);
        for (size_t i = 0; v[i]; i++) {
                CHECK(v[i][0] != '\0');
                if (commands)
                        CHECK(v[i][0] == '/');
        }
}

static void check_hours(const struct jit_hours *h)
{
        CHECK(h->n == 0 || h->windows);
        for (size_t i = 0; i < h->n; i++) {
                const struct jit_window *w = &h->windows[i];

                CHECK(w->days != 0 && (w->days & ~JIT_DAYS_ALL) == 0);
                CHECK(w->from < 1440 && w->to <= 1440 && w->from != w->to);
        }
}

static void check_sources(const struct jit_sources *s)
{
        if (!s->set) {
                CHECK(s->n == 0 && !s->local);
                return;
        }
        CHECK(s->n > 0 || s->local);
        for (size_t i = 0; i < s->n; i++)
                CHECK(s->cidrs[i].prefix <= (s->cidrs[i].family == AF_INET ? 32u : 128u));
}

static void check_rate(const struct jit_rate *r)
{
        CHECK((r->count == 0) == (r->per == 0));
        CHECK(r->count <= 100000 && r->per <= JIT_DURATION_MAX);
}

static void check_match(const struct jit_match *m)
{
        check_list(m->users, false);
        check_list(m->groups, false);
        check_list(m->services, false);
        check_list(m->commands, true);
        check_list(m->target_users, false);
        check_list(m->units, false);
        check_sources(&m->sources);
        check_hours(&m->hours);
        CHECK(m->tty == JIT_TTY_ANY || m->tty == JIT_TTY_REQUIRED || m->tty == JIT_TTY_NONE);
}

static void check_name(const char *s)
{
        CHECK(s && s[0] && strlen(s) <= JIT_NAME_MAX && s[0] != '-');
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

static void check_unique_names(const struct jit_config *c)
{
        for (size_t i = 0; i < c->n_roles; i++)
                for (size_t j = i + 1; j < c->n_roles; j++)
                        if (strcmp(c->roles[i].name, c->roles[j].name) == 0) {
                                fprintf(stderr, "accepted two roles named \"%s\"\n", c->roles[i].name);
                                CHECK(!"duplicate role name accepted");
                        }
        for (size_t i = 0; i < c->n_templates; i++)
                for (size_t j = i + 1; j < c->n_templates; j++)
                        if (strcmp(c->templates[i].name, c->templates[j].name) == 0) {
                                fprintf(stderr, "accepted two templates named \"%s\"\n", c->templates[i].name);
                                CHECK(!"duplicate template name accepted");
                        }
}

static void check_top(const struct jit_config *c)
{
        const struct jit_settings *s = &c->settings;
        bool security = c->security.users || c->security.groups;

        CHECK(s->expiry == JIT_EXPIRY_AUTO || s->expiry == JIT_EXPIRY_TIMER || s->expiry == JIT_EXPIRY_LOOP);
        CHECK(s->reconcile_interval >= 1 && s->reconcile_interval <= JIT_DURATION_MAX);
        CHECK(s->request_ttl >= 1 && s->request_ttl <= JIT_DURATION_MAX);
        CHECK(s->timer_accuracy_ms >= 1 && s->timer_accuracy_ms <= 60000);
        CHECK(s->history_window >= 1 && s->history_window <= JIT_DURATION_MAX);
        CHECK(s->timezone && jit_tz_is_valid(s->timezone));
        CHECK(c->security.approvals >= 2 && c->security.approvals <= 16);
        check_list(c->security.users, false);
        check_list(c->security.groups, false);
        for (size_t i = 0; i < c->n_accounts; i++) {
                const struct jit_account *a = &c->accounts[i];

                CHECK(a->name && a->name[0]);
                CHECK(a->service ? a->units != NULL : a->units == NULL);
                check_list(a->units, false);
                CHECK(jit_config_find_account(c, a->name) == a);
        }
        for (size_t i = 0; i < c->n_change_windows; i++)
                CHECK(c->change_windows[i].id && c->change_windows[i].from < c->change_windows[i].to);
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct jit_role *r = &c->roles[i];

                CHECK(r->tier == JIT_TIER_AUTO || r->tier == JIT_TIER_OWNER || r->tier == JIT_TIER_SECURITY);
                if (r->tier == JIT_TIER_OWNER)
                        CHECK(r->approver_users || r->approver_groups);
                if (r->tier == JIT_TIER_SECURITY || r->risk_security)
                        CHECK(security);
                if (r->risk_deny && r->risk_security)
                        CHECK(r->risk_deny > r->risk_security);
                check_list(r->commands, true);
                check_hours(&r->hours);
                check_sources(&r->sources);
                check_rate(&r->rate);
                CHECK(r->request_ttl <= JIT_DURATION_MAX);
                CHECK(r->break_glass_ttl <= r->max_ttl);
                if (r->break_glass_ttl) {
                        CHECK(r->oncall_users || r->oncall_groups);
                        check_rate(&r->break_glass_rate);
                }
                check_list(r->oncall_users, false);
                check_list(r->oncall_groups, false);
        }
}

static void check_config(const struct jit_config *c)
{
        check_top(c);

        for (size_t i = 0; i < c->n_roles; i++) {
                const struct jit_role *r = &c->roles[i];

                check_name(r->name);
                check_name(r->group);
                CHECK(r->max_ttl >= 1 && r->max_ttl <= JIT_DURATION_MAX);
                CHECK(r->default_ttl >= 1 && r->default_ttl <= r->max_ttl);
                CHECK(r->requester_users || r->requester_groups);
                check_list(r->requester_users, false);
                check_list(r->requester_groups, false);
                check_list(r->approver_users, false);
                check_list(r->approver_groups, false);
                for (size_t j = 0; j < r->n_deny; j++) {
                        check_name(r->deny[j].id);
                        check_match(&r->deny[j].match);
                }
                CHECK(jit_config_find_role(c, r->name) != NULL);
        }
        for (size_t i = 0; i < c->n_templates; i++) {
                const struct jit_template *t = &c->templates[i];
                const struct jit_role *role = jit_config_find_role(c, t->role);

                check_name(t->name);
                CHECK(role != NULL);
                CHECK(t->max_ttl <= role->max_ttl);
                CHECK(t->match.users || t->match.groups || t->match.commands || t->match.units);
                check_match(&t->match);
        }
        for (size_t i = 0; c->warnings && c->warnings[i]; i++)
                CHECK(strncmp(c->warnings[i], "$.templates.", 12) == 0 && strstr(c->warnings[i], ": conflict: "));
        if (oracle_enabled())
                check_unique_names(c);
}

static void check_errors(char **errors)
{
        CHECK(errors && errors[0]);
        for (size_t i = 0; errors[i]; i++)
                CHECK(errors[i][0] == '$' && strstr(errors[i], ": "));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct jit_config *c = (struct jit_config *)1, *again = (struct jit_config *)1;
        char **errors = (char **)1, **errors2 = NULL;
        char *text;
        int r, r2;

        /* An exact-size copy: any read past len is caught by ASan. */
        text = malloc(size ? size : 1);
        CHECK(text);
        memcpy(text, data, size);

        r = jit_config_parse(text, size, &c, &errors);
        if (r == 0) {
                CHECK(c && c != (struct jit_config *)1);
                CHECK(errors == NULL);
                check_config(c);
        } else {
                CHECK(r == -EINVAL || r == -ENOMEM);
                CHECK(c == (struct jit_config *)1);
                check_errors(errors);
        }

        /* Deterministic, and the same verdict without an error list. */
        r2 = jit_config_parse(text, size, &again, NULL);
        CHECK(r2 == r);
        if (r2 == 0) {
                CHECK(again->n_roles == c->n_roles && again->n_templates == c->n_templates);
                CHECK(jit_strv_length(again->warnings) == jit_strv_length(c->warnings));
                jit_config_free(again);
                jit_config_free(c);
        } else {
                CHECK(jit_config_parse(text, size, &again, &errors2) == r);
                CHECK(jit_strv_length(errors2) == jit_strv_length(errors));
                for (size_t i = 0; errors[i]; i++)
                        CHECK(strcmp(errors[i], errors2[i]) == 0);
                jit_strv_free(errors2);
                jit_strv_free(errors);
        }
        jit_config_free(NULL);
        free(text);
        return 0;
}
