/* file_dispatcher over pipes (C-40, C-41; seed 002's file example). */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
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

static CU_TestInfo tests[] = {
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
