/* Runs a fuzz target over files (the seed corpus and the regression
 * inputs of past findings) without libFuzzer, so every build's test suite
 * replays them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        static uint8_t buf[1 << 20];
        size_t len;

        if (!f) {
            perror(argv[i]);
            return 1;
        }
        len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        n++;
    }
    printf("%d inputs replayed\n", n);
    return n ? 0 : 1;
}
