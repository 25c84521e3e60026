/* file_dispatcher over pipes (C-40, C-41; seed 002's file example). */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads a pipe: the caller's fd is duplicated, made non-blocking, and left
 * open when the channel closes; EOF closes the channel. */
static void test_read_pipe(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int p[2], fd;

    CU_ASSERT_EQUAL(pipe(p), 0);
    CU_ASSERT_EQUAL(ac_file_dispatcher(&t->d, p[0]), 0);
    fd = ac_fileno(&t->d);
    CU_ASSERT(fd != p[0]);
    CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CU_ASSERT(fcntl(p[0], F_GETFL) & O_NONBLOCK); /* shared, as in Python */
    CU_ASSERT_TRUE(ac_connected(&t->d));
    CU_ASSERT_EQUAL(write(p[1], "file data", 9), 9);
    while (t->in_len < 9 && t_step(map, 100) > 0)
        ;
    CU_ASSERT_EQUAL(t->in_len, 9);
    CU_ASSERT_EQUAL(memcmp(t->in, "file data", 9), 0);
    close(p[1]);
    CU_ASSERT_TRUE(t_run_until_empty(map, 1000)); /* EOF -> handle_close */
    CU_ASSERT_TRUE(t_fd_open(p[0]));
    close(p[0]);
    t_map_done(map);
}

/* Writes a pipe; a write after the reader left is EPIPE -> handle_close,
 * and no SIGPIPE kills the process. */
static void test_write_pipe(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int p[2];
    char buf[16] = {0};

    CU_ASSERT_EQUAL(pipe(p), 0);
    CU_ASSERT_EQUAL(ac_file_dispatcher(&t->d, p[1]), 0);
    CU_ASSERT_EQUAL(ac_send(&t->d, "abc", 3), 3);
    CU_ASSERT_EQUAL(read(p[0], buf, sizeof(buf)), 3);
    CU_ASSERT_STRING_EQUAL(buf, "abc");
    close(p[0]);
    t->on_close = tchan_keep_open;
    CU_ASSERT_EQUAL(ac_send(&t->d, "abc", 3), -EPIPE);
    CU_ASSERT_EQUAL(t->n_close, 1);
    CU_ASSERT_EQUAL(t->n_error, 0);
    CU_ASSERT_EQUAL(ac_close(&t->d), 0);
    close(p[1]);
    t_map_done(map);
}

/* C-41: closing twice is harmless and leaves the caller's fd alone. */
static void test_close_twice(void)
{
    ac_map *map = t_map_new();
    ac_dispatcher d;
    int p[2];

    CU_ASSERT_EQUAL(pipe(p), 0);
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_file_dispatcher(&d, p[0]), 0);
    CU_ASSERT_EQUAL(ac_close(&d), 0);
    CU_ASSERT_EQUAL(ac_close(&d), -EBADF);
    CU_ASSERT_TRUE(t_fd_open(p[0]));
    CU_ASSERT_EQUAL(ac_file_dispatcher(&d, p[0]), -EBADF);
    close(p[0]);
    close(p[1]);
    CU_ASSERT_EQUAL(ac_dispatcher_init(&d, NULL, map), 0);
    CU_ASSERT_EQUAL(ac_file_dispatcher(&d, -1), -EBADF);
    CU_ASSERT_EQUAL(ac_file_dispatcher(&d, 999), -EBADF);
    ac_close(&d);
    t_map_done(map);
}

/* Seed 002's file_dispatcher example: a regular file read in 256-byte
 * chunks until EOF. epoll and libuv refuse regular files (EPERM); the
 * channel must still read the whole file, as select and poll report it
 * always ready, and the host's own loop must end when the file is done. */
static void read_chunk(tchan *t)
{
    ssize_t n = ac_recv(&t->d, t->in + t->in_len, 256);
    int *sizes = t->user;

    if (n > 0) {
        sizes[t->n_read - 1] = (int)n;
        t->in_len += (size_t)n;
    }
}

static int temp_file(const char *data, size_t len)
{
    char path[] = "/tmp/ac_test_file_XXXXXX";
    int fd = mkstemp(path);

    CU_ASSERT_FATAL(fd >= 0);
    unlink(path);
    CU_ASSERT_EQUAL(write(fd, data, len), (ssize_t)len);
    CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void test_regular_file(void)
{
    static char data[600];
    int sizes[8] = {0};
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    long long ms;
    size_t i;
    int fd;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    fd = temp_file(data, sizeof(data));
    t->keep_memory = true;
    t->want_write = false; /* the seed's writable() is False */
    t->on_read = read_chunk;
    t->user = sizes;
    CU_ASSERT_EQUAL(ac_file_dispatcher(&t->d, fd), 0);
    ms = t_run_host(map, 3000);
    CU_ASSERT(ms < 1500); /* the loop ended with the file, not its waits */
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    CU_ASSERT_EQUAL(t->in_len, sizeof(data));
    CU_ASSERT_EQUAL(memcmp(t->in, data, sizeof(data)), 0);
    CU_ASSERT_EQUAL(sizes[0], 256);
    CU_ASSERT_EQUAL(sizes[1], 256);
    CU_ASSERT_EQUAL(sizes[2], 88);
    CU_ASSERT_EQUAL(t->n_close, 1); /* EOF: handle_close */
    CU_ASSERT_EQUAL(t->n_error, 0);
    CU_ASSERT_FALSE(t_log_contains("watch"));
    close(fd);
    free(t);
    t_map_done(map);
}

/* /dev/null (epoll: EPERM too) as a writable file channel with declared
 * interest: always writable; the channel closes itself after 3 writes,
 * and nothing spins afterwards. */
static void write_three(tchan *t)
{
    CU_ASSERT_EQUAL(ac_send(&t->d, "abc", 3), 3);
    if (t->n_write == 3)
        ac_close(&t->d);
}

static void test_dev_null(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    long long ms;

    CU_ASSERT_FATAL(fd >= 0);
    t->keep_memory = true;
    t->on_write = write_three;
    CU_ASSERT_EQUAL(ac_file_dispatcher(&t->d, fd), 0);
    CU_ASSERT_EQUAL(ac_set_interest(&t->d, AC_WRITE), 0);
    ms = t_run_host(map, 3000);
    CU_ASSERT(ms < 1500);
    CU_ASSERT_EQUAL(t->n_write, 3);
    CU_ASSERT_EQUAL(t->n_error, 0);
    CU_ASSERT_EQUAL(ac_map_timeout(map), -1);
    close(fd);
    free(t);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"regular_file", test_regular_file},
    {"dev_null", test_dev_null},
    {"read_pipe", test_read_pipe},
    {"write_pipe", test_write_pipe},
    {"close_twice", test_close_twice},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("file_dispatcher", tests);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
