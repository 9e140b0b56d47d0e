/* clockshift.so — a test-only LD_PRELOAD shim: CLOCK_REALTIME as seen by
 * the process is shifted by the number of seconds in the file named by
 * $CLOCKSHIFT_FILE (read on every call; missing or unreadable: no shift).
 * It stands in for setting the system clock, which a test must not do to
 * the machine it runs on. Only clock_gettime(CLOCK_REALTIME) and time()
 * are shifted; timers in the kernel are not. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int clock_gettime(clockid_t id, struct timespec *ts);
time_t time(time_t *t);

static long shift(void)
{
        const char *f = getenv("CLOCKSHIFT_FILE");
        char buf[32];
        ssize_t n;
        int fd;

        if (!f || (fd = open(f, O_RDONLY | O_CLOEXEC)) < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        return strtol(buf, NULL, 10);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
        static int (*real)(clockid_t, struct timespec *);
        int r;

        if (!real)
                real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
        r = real(id, ts);
        if (r == 0 && id == CLOCK_REALTIME)
                ts->tv_sec += shift();
        return r;
}

time_t time(time_t *t)
{
        struct timespec ts;
        time_t v;

        clock_gettime(CLOCK_REALTIME, &ts);
        v = ts.tv_sec;
        if (t)
                *t = v;
        return v;
}
