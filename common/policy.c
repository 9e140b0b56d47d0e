#include "policy.h"
#include "strv.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void reason(struct jit_decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct jit_decision *d, const char *fmt, ...)
{
        va_list ap;

        if (d->n_reasons >= JIT_POLICY_MAX_REASONS)
                return;
        va_start(ap, fmt);
        vsnprintf(d->reasons[d->n_reasons++], sizeof(d->reasons[0]), fmt, ap);
        va_end(ap);
}

bool jit_policy_is_member(const char *user, char *const *groups,
                          char *const *users, char *const *group_list)
{
        if (user && jit_strv_contains(users, user))
                return true;
        for (size_t i = 0; groups && groups[i]; i++)
                if (jit_strv_contains(group_list, groups[i]))
                        return true;
        return false;
}

bool jit_policy_may_approve(const struct jit_role *role, const char *user, char *const *groups)
{
        return role && jit_policy_is_member(user, groups, role->approver_users, role->approver_groups);
}

enum judgement { JUDGE_NO_MATCH, JUDGE_MATCH, JUDGE_UNSURE };

/* Commands match as one string "argv0 argv1 ..." against fnmatch(3)
 * patterns; a line too long to hold, or a program that is not an
 * absolute path, cannot be judged. */
static enum judgement judge_command(char *const *patterns, char *const *argv)
{
        char line[4096];
        size_t off = 0;

        if (!argv || !argv[0] || argv[0][0] != '/')
                return JUDGE_UNSURE;
        for (size_t i = 0; argv[i]; i++) {
                size_t l = strlen(argv[i]);

                if (off + l + 2 > sizeof(line))
                        return JUDGE_UNSURE;
                if (i)
                        line[off++] = ' ';
                memcpy(line + off, argv[i], l);
                off += l;
        }
        line[off] = '\0';
        for (size_t i = 0; patterns[i]; i++)
                if (fnmatch(patterns[i], line, 0) == 0)
                        return JUDGE_MATCH;
        return JUDGE_NO_MATCH;
}

static bool who_and_where_match(const struct jit_match *m, const struct jit_context *ctx)
{
        if ((m->users || m->groups) &&
            !jit_policy_is_member(ctx->user, ctx->groups, m->users, m->groups))
                return false;
        return !m->services || (ctx->service && jit_strv_contains(m->services, ctx->service));
}

/* Templates grant: only a command we can judge, and only if it matches. */
static bool template_matches(const struct jit_match *m, const struct jit_context *ctx)
{
        if (!who_and_where_match(m, ctx))
                return false;
        if (!m->commands)
                return true;
        return ctx->command_mode == JIT_COMMAND_EXACT &&
               judge_command(m->commands, ctx->command) == JUDGE_MATCH;
}

/* Deny rules refuse: any command we cannot judge counts as a match. */
static bool deny_matches(const struct jit_match *m, const struct jit_context *ctx)
{
        if (!who_and_where_match(m, ctx))
                return false;
        if (!m->commands)
                return true;
        switch (ctx->command_mode) {
        case JIT_COMMAND_NONE:
                return false;
        case JIT_COMMAND_EXACT:
                return judge_command(m->commands, ctx->command) != JUDGE_NO_MATCH;
        default:
                return true;
        }
}

static uint64_t cap(uint64_t want, uint64_t max)
{
        return max && want > max ? max : want;
}

enum jit_action jit_policy_decide(const struct jit_config *c, const struct jit_context *ctx,
                                  struct jit_decision *d)
{
        const struct jit_role *role;
        uint64_t ttl;

        memset(d, 0, sizeof(*d));
        d->action = JIT_ACTION_DENY;
        if (!c || !ctx || !ctx->user || !ctx->role) {
                reason(d, "incomplete request");
                return d->action;
        }
        role = jit_config_find_role(c, ctx->role);
        if (!role) {
                reason(d, "no such role \"%s\"", ctx->role);
                return d->action;
        }
        d->group = role->group;
        if (!jit_policy_is_member(ctx->user, ctx->groups, role->requester_users, role->requester_groups)) {
                reason(d, "%s may not request role %s", ctx->user, role->name);
                return d->action;
        }
        d->eligible = true;
        for (size_t i = 0; i < role->n_deny; i++) {
                const struct jit_deny_rule *r = &role->deny[i];

                if (deny_matches(&r->match, ctx)) {
                        d->rule = r->id;
                        reason(d, "rule %s: %s", r->id, r->reason ? r->reason : "denied by policy");
                        return d->action;
                }
        }
        ttl = cap(ctx->ttl ? ctx->ttl : role->default_ttl, role->max_ttl);
        if (ctx->ttl > role->max_ttl)
                reason(d, "TTL capped to the role's maximum");
        if (ctx->active_grant) {
                d->action = JIT_ACTION_ALLOW;
                d->rule = NULL;
                d->ttl = 0;
                reason(d, "active grant %s", ctx->active_grant);
                return d->action;
        }
        for (size_t i = 0; i < c->n_templates; i++) {
                const struct jit_template *t = &c->templates[i];

                if (!t->role || strcmp(t->role, role->name) != 0 || !template_matches(&t->match, ctx))
                        continue;
                d->action = JIT_ACTION_ALLOW;
                d->rule = t->name;
                d->ttl = cap(ttl, t->max_ttl);
                reason(d, "pre-approved by template %s", t->name);
                return d->action;
        }
        d->ttl = ttl;
        if (role->default_action == JIT_ACTION_ESCALATE) {
                d->action = JIT_ACTION_ESCALATE;
                reason(d, "no template matches: an approver for %s must decide", role->name);
        } else {
                reason(d, "no template matches and role %s allows nothing else", role->name);
        }
        return d->action;
}
