#include "policy.h"
#include "strv.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void reason(struct jit_decision *d, const char *id, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void reason(struct jit_decision *d, const char *id, const char *fmt, ...)
{
        va_list ap;

        if (d->n_reasons >= JIT_POLICY_MAX_REASONS)
                return;
        snprintf(d->reasons[d->n_reasons].id, sizeof(d->reasons[0].id), "%s", id);
        va_start(ap, fmt);
        vsnprintf(d->reasons[d->n_reasons].text, sizeof(d->reasons[0].text), fmt, ap);
        va_end(ap);
        d->n_reasons++;
}

/* reason() with an id made of a prefix and a policy name */
static void reason_named(struct jit_decision *d, const char *prefix, const char *name, const char *text)
{
        char id[48];

        snprintf(id, sizeof(id), "%s.%s", prefix, name ? name : "?");
        reason(d, id, "%s", text);
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

bool jit_policy_is_security_approver(const struct jit_config *c, const char *user, char *const *groups)
{
        return c && jit_policy_is_member(user, groups, c->security.users, c->security.groups);
}

bool jit_policy_may_approve(const struct jit_config *c, const struct jit_role *role, enum jit_tier tier,
                            const char *user, char *const *groups)
{
        if (!role)
                return false;
        if (jit_policy_is_member(user, groups, role->approver_users, role->approver_groups))
                return tier == JIT_TIER_OWNER || tier == JIT_TIER_SECURITY;
        return tier == JIT_TIER_SECURITY && jit_policy_is_security_approver(c, user, groups);
}

uint64_t jit_policy_rate_period(const struct jit_config *c, const struct jit_role *role)
{
        if (role && role->rate.count)
                return role->rate.per;
        return c ? c->settings.history_window : 0;
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

/* A command against a pattern list; unsure is what the caller says. */
static bool command_in(char *const *patterns, const struct jit_context *ctx, bool unsure)
{
        switch (ctx->command_mode) {
        case JIT_COMMAND_NONE:
                return false;
        case JIT_COMMAND_EXACT:
                switch (judge_command(patterns, ctx->command)) {
                case JUDGE_MATCH: return true;
                case JUDGE_NO_MATCH: return false;
                default: return unsure;
                }
        default:
                return unsure;
        }
}

static bool source_is_known(const struct jit_sources *s, const char *rhost)
{
        /* A host name is not an address we can place: never "known". */
        if (!rhost || !rhost[0])
                return s->local;
        for (size_t i = 0; i < s->n; i++)
                if (jit_cidr_contains(&s->cidrs[i], rhost))
                        return true;
        return false;
}

static bool in_hours(const struct jit_hours *h, const struct jit_context *ctx)
{
        for (size_t i = 0; i < h->n; i++)
                if (jit_window_contains(&h->windows[i], ctx->wday, ctx->minute))
                        return true;
        return false;
}

static bool unit_in(char *const *patterns, const char *unit)
{
        for (size_t i = 0; unit && patterns[i]; i++)
                if (fnmatch(patterns[i], unit, 0) == 0)
                        return true;
        return false;
}

/* Does a rule's match apply? `deny` decides what facts we cannot know
 * (an opaque command, an unknown unit) count as: a match for deny rules,
 * no match for templates. */
static bool match_applies(const struct jit_match *m, const struct jit_context *ctx, bool deny)
{
        if ((m->users || m->groups) && !jit_policy_is_member(ctx->user, ctx->groups, m->users, m->groups))
                return false;
        if (m->services && !(ctx->service && jit_strv_contains(m->services, ctx->service)))
                return false;
        if (m->target_users && !jit_strv_contains(m->target_users, ctx->target_user ? ctx->target_user : "root"))
                return false;
        if (m->units && !(ctx->unit ? unit_in(m->units, ctx->unit) : deny))
                return false;
        if (m->sources.set && !source_is_known(&m->sources, ctx->rhost) &&
            !(deny && ctx->rhost && ctx->rhost[0] && !jit_addr_is_numeric(ctx->rhost)))
                return false;
        if (m->hours.n && !in_hours(&m->hours, ctx))
                return false;
        if ((m->tty == JIT_TTY_REQUIRED && !ctx->tty) || (m->tty == JIT_TTY_NONE && ctx->tty))
                return false;
        return !m->commands || command_in(m->commands, ctx, deny);
}

static uint64_t cap(uint64_t want, uint64_t max)
{
        return max && want > max ? max : want;
}

static const struct jit_change_window *change_window_now(const struct jit_config *c, int64_t now)
{
        for (size_t i = 0; i < c->n_change_windows; i++)
                if (now >= c->change_windows[i].from && now < c->change_windows[i].to)
                        return &c->change_windows[i];
        return NULL;
}

/* Each live signal that fires adds its points and says why. */
static void weigh_risk(const struct jit_config *c, const struct jit_role *role, const struct jit_context *ctx,
                       struct jit_decision *d)
{
        const struct jit_risk_weights *w = &c->settings.risk;
        const struct jit_change_window *cw = change_window_now(c, ctx->now);

        if (role->hours.n && !in_hours(&role->hours, ctx)) {
                if (cw)
                        reason_named(d, "window", cw->id, "outside working hours, but inside a declared change window");
                else if (w->off_hours) {
                        d->risk += w->off_hours;
                        reason(d, "risk.off_hours", "outside the role's working hours (%s) (+%u)",
                               c->settings.timezone, w->off_hours);
                }
        }
        if (role->sources.set && !source_is_known(&role->sources, ctx->rhost) && w->unknown_source) {
                d->risk += w->unknown_source;
                reason(d, "risk.unknown_source", "from %.64s, not a known source for the role (+%u)",
                       ctx->rhost && ctx->rhost[0] ? ctx->rhost : "this host", w->unknown_source);
        }
        if (!d->service_account && !ctx->tty && w->no_tty) {
                d->risk += w->no_tty;
                reason(d, "risk.no_tty", "a person asking without a terminal (+%u)", w->no_tty);
        }
        if (d->service_account && ctx->tty && w->service_account_tty) {
                d->risk += w->service_account_tty;
                reason(d, "risk.service_account_tty", "a service account used from a terminal (+%u)",
                       w->service_account_tty);
        }
        if (ctx->history.grants == 0 && w->first_use) {
                d->risk += w->first_use;
                reason(d, "risk.first_use", "no grant of this role in the history window: first use (+%u)",
                       w->first_use);
        }
        if (role->rate.count && ctx->history.requests >= role->rate.count && w->rate) {
                d->risk += w->rate;
                reason(d, "risk.rate", "%u earlier requests within the rate period; the role allows %u (+%u)",
                       ctx->history.requests, role->rate.count, w->rate);
        }
        if (ctx->history.denials && w->recent_denials) {
                d->risk += w->recent_denials;
                reason(d, "risk.recent_denials", "%u recent denial%s for this role (+%u)",
                       ctx->history.denials, ctx->history.denials == 1 ? "" : "s", w->recent_denials);
        }
}

/* Steps shared by requests and break-glass: role, eligibility, workload
 * identity, deny rules. Returns the role, or NULL when denied. */
static const struct jit_role *gate(const struct jit_config *c, const struct jit_context *ctx,
                                   struct jit_decision *d, bool break_glass)
{
        const struct jit_account *acct;
        const struct jit_role *role;

        if (!c || !ctx || !ctx->user || !ctx->role) {
                reason(d, "request.incomplete", "incomplete request");
                return NULL;
        }
        role = jit_config_find_role(c, ctx->role);
        if (!role) {
                reason(d, "role.unknown", "no such role \"%.32s\"", ctx->role);
                return NULL;
        }
        d->group = role->group;
        if (!break_glass &&
            !jit_policy_is_member(ctx->user, ctx->groups, role->requester_users, role->requester_groups)) {
                reason(d, "role.requesters", "%.64s may not request role %s", ctx->user, role->name);
                return NULL;
        }
        if (break_glass && !role->break_glass_ttl) {
                reason(d, "break_glass.disabled", "role %s has no break-glass", role->name);
                return NULL;
        }
        if (break_glass && !jit_policy_is_member(ctx->user, ctx->groups, role->oncall_users, role->oncall_groups)) {
                reason(d, "break_glass.oncall", "%.64s is not on call for role %s", ctx->user, role->name);
                return NULL;
        }
        d->eligible = true;
        acct = jit_config_find_account(c, ctx->user);
        d->service_account = acct && acct->service;
        if (d->service_account && !(ctx->unit && unit_in(acct->units, ctx->unit))) {
                reason(d, "account.unit", "service account %.64s asked from %.64s, not from its declared units",
                       ctx->user, ctx->unit ? ctx->unit : "an unknown unit");
                return NULL;
        }
        for (size_t i = 0; i < role->n_deny; i++) {
                const struct jit_deny_rule *r = &role->deny[i];

                if (match_applies(&r->match, ctx, true)) {
                        char text[200];

                        d->rule = r->id;
                        snprintf(text, sizeof(text), "rule %s: %s", r->id, r->reason ? r->reason : "denied by policy");
                        reason_named(d, "deny", r->id, text);
                        return NULL;
                }
        }
        if (role->commands && ctx->command_mode != JIT_COMMAND_NONE && !command_in(role->commands, ctx, false)) {
                reason(d, "role.commands", "the command is not among role %s's allowed commands", role->name);
                return NULL;
        }
        return role;
}

static void escalate(const struct jit_config *c, const struct jit_role *role, struct jit_decision *d)
{
        d->action = JIT_ACTION_ESCALATE;
        d->tier = role->tier;
        if (role->risk_security && d->risk >= role->risk_security && d->tier != JIT_TIER_SECURITY) {
                d->tier = JIT_TIER_SECURITY;
                reason(d, "tier.raised", "risk %u reaches %u: the security tier must approve", d->risk,
                       role->risk_security);
        }
        d->approvals = d->tier == JIT_TIER_SECURITY ? c->security.approvals : 1;
        if (d->tier == JIT_TIER_SECURITY)
                reason(d, "tier.security", "%u distinct approvers, at least one from security, must approve",
                       d->approvals);
        else
                reason(d, "tier.owner", "one approver of role %s must approve", role->name);
}

enum jit_action jit_policy_decide(const struct jit_config *c, const struct jit_context *ctx,
                                  struct jit_decision *d)
{
        const struct jit_role *role;
        uint64_t ttl;

        memset(d, 0, sizeof(*d));
        d->action = JIT_ACTION_DENY;
        role = gate(c, ctx, d, false);
        if (!role)
                return d->action;
        ttl = cap(ctx->ttl ? ctx->ttl : role->default_ttl, role->max_ttl);
        if (ctx->ttl > role->max_ttl)
                reason(d, "ttl.capped", "TTL capped to the role's maximum");
        if (ctx->active_grant) {
                d->action = JIT_ACTION_ALLOW;
                reason(d, "grant.active", "active grant %s", ctx->active_grant);
                return d->action;
        }
        weigh_risk(c, role, ctx, d);
        d->ttl = ttl;
        if (role->risk_deny && d->risk >= role->risk_deny) {
                d->ttl = 0;
                reason(d, "risk.deny", "risk %u reaches %u: denied", d->risk, role->risk_deny);
                return d->action;
        }
        for (size_t i = 0; i < c->n_templates; i++) {
                const struct jit_template *t = &c->templates[i];

                if (!t->role || strcmp(t->role, role->name) != 0 || !match_applies(&t->match, ctx, false))
                        continue;
                if (role->risk_security && d->risk >= role->risk_security) {
                        reason_named(d, "template", t->name, "would pre-approve, but the risk is too high for a template");
                        break;
                }
                d->action = JIT_ACTION_ALLOW;
                d->tier = JIT_TIER_AUTO;
                d->rule = t->name;
                d->ttl = cap(ttl, t->max_ttl);
                if (d->ttl < ttl)
                        reason(d, "ttl.capped", "TTL capped to the template's maximum");
                reason_named(d, "template", t->name, "pre-approved by template");
                return d->action;
        }
        if (role->tier == JIT_TIER_AUTO) {
                d->ttl = 0;
                reason(d, "tier.auto", "no template matches and role %s is granted by templates only", role->name);
                return d->action;
        }
        escalate(c, role, d);
        return d->action;
}

enum jit_action jit_policy_break_glass(const struct jit_config *c, const struct jit_context *ctx,
                                       struct jit_decision *d)
{
        const struct jit_role *role;

        memset(d, 0, sizeof(*d));
        d->action = JIT_ACTION_DENY;
        role = gate(c, ctx, d, true);
        if (!role)
                return d->action;
        if (d->service_account) {
                reason(d, "break_glass.person", "break-glass is for people, not service accounts");
                return d->action;
        }
        if (role->break_glass_rate.count && ctx->history.break_glass >= role->break_glass_rate.count) {
                reason(d, "break_glass.rate", "%u break-glass grants of role %s already within the rate period (at most %u)",
                       ctx->history.break_glass, role->name, role->break_glass_rate.count);
                return d->action;
        }
        d->action = JIT_ACTION_ALLOW;
        d->tier = JIT_TIER_BREAK_GLASS;
        d->ttl = cap(ctx->ttl ? ctx->ttl : role->break_glass_ttl, role->break_glass_ttl);
        if (ctx->ttl > role->break_glass_ttl)
                reason(d, "ttl.capped", "TTL capped to the role's break-glass maximum");
        reason(d, "break_glass.granted", "break-glass: granted without an approver; a review stays open until someone else closes it");
        return d->action;
}

const char *jit_decision_summary(const struct jit_decision *d)
{
        /* The reason that decided is the last one given. */
        return d->n_reasons ? d->reasons[d->n_reasons - 1].text : "no reason";
}

cJSON *jit_decision_to_json(const struct jit_decision *d)
{
        cJSON *j = cJSON_CreateObject(), *rs = cJSON_CreateArray();
        bool ok = j && rs;

        ok = ok && cJSON_AddStringToObject(j, "action", jit_action_to_string(d->action));
        if (ok && d->action != JIT_ACTION_DENY) {
                ok = cJSON_AddStringToObject(j, "tier", jit_tier_to_string(d->tier)) &&
                     cJSON_AddNumberToObject(j, "approvals", d->action == JIT_ACTION_ESCALATE ? d->approvals : 0) &&
                     cJSON_AddNumberToObject(j, "ttl", (double)d->ttl);
        }
        ok = ok && cJSON_AddNumberToObject(j, "risk", d->risk);
        if (ok && d->rule)
                ok = cJSON_AddStringToObject(j, "rule", d->rule) != NULL;
        if (ok && d->group)
                ok = cJSON_AddStringToObject(j, "group", d->group) != NULL;
        ok = ok && cJSON_AddBoolToObject(j, "service_account", d->service_account);
        for (size_t i = 0; ok && i < d->n_reasons; i++) {
                cJSON *r = cJSON_CreateObject();

                ok = r && cJSON_AddItemToArray(rs, r) && cJSON_AddStringToObject(r, "id", d->reasons[i].id) &&
                     cJSON_AddStringToObject(r, "text", d->reasons[i].text);
        }
        if (ok && cJSON_AddItemToObject(j, "reasons", rs))
                return j;
        cJSON_Delete(rs);       /* not attached to j on any failure path */
        cJSON_Delete(j);
        return NULL;
}
