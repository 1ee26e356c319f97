/* bench_time.h - the clock and the median that the benchmarks share. Include after
   <stdlib.h> and <time.h>, with _POSIX_C_SOURCE defined for clock_gettime. */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

/* seconds on a monotonic clock */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the median of n > 0 values (sorts them) */
static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}
#endif
