/* timer.h — expiry as a systemd transient timer, over D-Bus (sd-bus).
 *
 * Owns: the unit names "jit-expire-<grant>.timer/.service" and how they
 * are created and removed.
 * Invariants: the timer fires at the grant's absolute expiry in realtime
 * (OnCalendar=, UTC), so suspend and clock jumps do not extend a grant;
 * AccuracyUSec is always set explicitly; the service it starts runs
 * "<jitctl> --socket <socket> expire <grant>". Timers are a convenience over the service's
 * own reconcile loop, never the only thing that ends a grant.
 */
#ifndef JIT_TIMER_H
#define JIT_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Unit name for a grant into buf (>= 64 bytes). */
void jit_timer_unit_name(char *buf, size_t size, const char *grant_id);

/* Create the timer. Returns 0 (also when it already exists) or -errno;
 * *ret_err, if given, carries the D-Bus error text. */
int jit_timer_schedule(sd_bus *bus, const char *grant_id, uint64_t expires_us,
                       uint64_t accuracy_us, const char *jitctl_path, const char *socket_path,
                       char **ret_err);

/* Stop and unload the timer; 0 when it was not there. */
int jit_timer_cancel(sd_bus *bus, const char *grant_id);

/* Is the timer loaded? */
int jit_timer_exists(sd_bus *bus, const char *grant_id, bool *ret);

/* The grant ids of every loaded jit-expire-<grant>.timer (a strv, NULL
 * when none). */
int jit_timer_list(sd_bus *bus, char ***ret_grant_ids);

#endif
