/*
 * race_canary: a data race on purpose.
 *
 * `make ctests-tsan` compiles the C tests with gcc's instrumentation but
 * links them with the nightly toolchain's ThreadSanitizer runtime (the one
 * the instrumented Rust archive needs). This program checks that the
 * combination reports races in C code: two threads increment one variable
 * unsynchronised, and ctests-tsan requires the report. Without it, the
 * clean runs of the other C tests would prove nothing. (That the archive's
 * Rust code is instrumented is checked separately, from its symbols.)
 */
#include <pthread.h>
#include <stdio.h>

static int shared;

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++)
        shared++;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    for (int i = 0; i < 100000; i++)
        shared++;
    pthread_join(t, NULL);
    printf("race_canary: %d\n", shared);
    return 0;
}
