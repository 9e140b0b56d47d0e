#include "timer.h"
#include "strv.h"
#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR  "org.freedesktop.systemd1.Manager"

void jit_timer_unit_name(char *buf, size_t size, const char *grant_id)
{
        snprintf(buf, size, "jit-expire-%s.timer", grant_id);
}

static void service_name(char *buf, size_t size, const char *grant_id)
{
        snprintf(buf, size, "jit-expire-%s.service", grant_id);
}

static int calendar_spec(char *buf, size_t size, uint64_t expires_us)
{
        time_t t = (time_t)((expires_us + 999999) / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        return strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) ? 0 : -ENOBUFS;
}

static int append_service(sd_bus_message *m, const char *grant_id, const char *jitctl, const char *socket)
{
        char name[96], desc[128];
        int r;

        service_name(name, sizeof(name), grant_id);
        snprintf(desc, sizeof(desc), "jit: end grant %s at its expiry", grant_id);
        r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0) r = sd_bus_message_open_container(m, 'r', "sa(sv)");
        if (r >= 0) r = sd_bus_message_append(m, "s", name);
        if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "Description", "s", desc);
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "Type", "s", "oneshot");
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
        /* A floor of sandboxing even where the jit-expire-.service.d drop-in
         * (which adds the rest) is not installed: the client only talks to
         * the service's socket. */
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "NoNewPrivileges", "b", true);
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "PrivateNetwork", "b", true);
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "ProtectSystem", "s", "strict");
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "ProtectHome", "s", "yes");
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "CapabilityBoundingSet", "t", (uint64_t)0);
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "RestrictAddressFamilies", "(bas)", true, 1, "AF_UNIX");
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "ExecStart", "a(sasb)", 1,
                                              jitctl, 5, "jitctl", "--socket", socket, "expire", grant_id,
                                              false);
        if (r >= 0) r = sd_bus_message_close_container(m);
        if (r >= 0) r = sd_bus_message_close_container(m);
        if (r >= 0) r = sd_bus_message_close_container(m);
        return r;
}

int jit_timer_schedule(sd_bus *bus, const char *grant_id, uint64_t expires_us,
                       uint64_t accuracy_us, const char *jitctl_path, const char *socket_path,
                       char **ret_err)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        char name[96], spec[64], desc[128];
        int r;

        if (!bus)
                return -ENOTCONN;
        jit_timer_unit_name(name, sizeof(name), grant_id);
        snprintf(desc, sizeof(desc), "jit: expiry of grant %s", grant_id);
        r = calendar_spec(spec, sizeof(spec), expires_us);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MGR, "StartTransientUnit");
        if (r >= 0) r = sd_bus_message_append(m, "ss", name, "fail");
        if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "Description", "s", desc);
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "TimersCalendar", "a(ss)", 1, "OnCalendar", spec);
        if (r >= 0) r = sd_bus_message_append(m, "(sv)", "AccuracyUSec", "t", accuracy_us);
        if (r >= 0) r = sd_bus_message_close_container(m);
        if (r >= 0) r = append_service(m, grant_id, jitctl_path, socket_path);
        if (r >= 0) r = sd_bus_call(bus, m, 10 * 1000000ULL, &err, &reply);
        if (r < 0 && sd_bus_error_has_name(&err, "org.freedesktop.systemd1.UnitExists"))
                r = 0;
        if (r < 0 && ret_err)
                *ret_err = strdup(err.message ? err.message : strerror(-r));
        sd_bus_error_free(&err);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

int jit_timer_cancel(sd_bus *bus, const char *grant_id)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        char name[96];
        int r;

        if (!bus)
                return -ENOTCONN;
        jit_timer_unit_name(name, sizeof(name), grant_id);
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "StopUnit", &err, NULL,
                               "ss", name, "replace");
        if (r < 0 && sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit"))
                r = 0;
        sd_bus_error_free(&err);
        return r < 0 ? r : 0;
}

int jit_timer_exists(sd_bus *bus, const char *grant_id, bool *ret)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        char name[96];
        int r;

        if (!bus)
                return -ENOTCONN;
        jit_timer_unit_name(name, sizeof(name), grant_id);
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MGR, "GetUnit", &err, NULL, "s", name);
        if (r < 0 && sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit")) {
                *ret = false;
                r = 0;
        } else if (r >= 0) {
                *ret = true;
        }
        sd_bus_error_free(&err);
        return r < 0 ? r : 0;
}

int jit_timer_list(sd_bus *bus, char ***ret_grant_ids)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL, *m = NULL;
        char **ids = NULL;
        const char *name;
        int r;

        if (!bus)
                return -ENOTCONN;
        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MGR, "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char *[]){ NULL });
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char *[]){ "jit-expire-*.timer", NULL });
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &err, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL, NULL,
                                                  NULL, NULL, NULL)) > 0) {
                size_t n = strlen(name);
                char id[64];

                /* jit-expire-<id>.timer; anything else matching the glob is not ours */
                if (n <= 17 || n - 17 >= sizeof(id))
                        continue;
                memcpy(id, name + 11, n - 17);
                id[n - 17] = '\0';
                if (jit_strv_push(&ids, id) < 0)
                        r = -ENOMEM;
        }
        sd_bus_error_free(&err);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        if (r < 0) {
                jit_strv_free(ids);
                return r;
        }
        *ret_grant_ids = ids;
        return 0;
}
