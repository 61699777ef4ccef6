/* Target (v): a C program built without any CFI (-fno-asynchronous-unwind-tables
 * -fno-unwind-tables) but with frame pointers, to see whether each unwinder
 * falls back to the frame-pointer chain where a module has no CFI. */
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void leaf(void)
{
    for (unsigned long i = 0; i < 100000; i++)
        sink += i;
    struct timespec ts = {0, 100000};
    nanosleep(&ts, 0);
}

__attribute__((noinline)) static void level(int n)
{
    if (n == 0)
        leaf();
    else
        level(n - 1);
    sink++;
}

int main(void)
{
    for (;;)
        level(10);
}
