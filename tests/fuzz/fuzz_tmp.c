/* One scratch file per process, rewritten for each input. On Linux it is
 * unlinked as soon as it is made and opened again through /proc/self/fd,
 * so a crash (libFuzzer _exit()s) cannot leave it behind; elsewhere it is
 * removed at exit. It lives in $TMPDIR, else in /dev/shm when there is one:
 * on a disk file system rewriting a file ten thousand times a second waits
 * for the disk (ext4 flushes a file truncated to zero), so it is also never
 * truncated to zero but overwritten and then cut to its new length. */
#include "fuzz.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tmp_fd = -1;
static char tmp_path[4096];
static char tmp_name[4096];

static void remove_tmp(void)
{
    if (tmp_name[0] != '\0') {
        unlink(tmp_name);
    }
}

static void tmp_open(void)
{
    const char *dir = getenv("TMPDIR");
    struct stat by_path, by_fd;
    if ((dir == NULL || *dir == '\0') && stat("/dev/shm", &by_path) == 0 &&
        S_ISDIR(by_path.st_mode) && access("/dev/shm", W_OK) == 0) {
        dir = "/dev/shm";
    }
    snprintf(tmp_name, sizeof tmp_name, "%s/cvm-fuzz-XXXXXX", dir && *dir ? dir : "/tmp");
    tmp_fd = mkstemp(tmp_name);
    if (tmp_fd < 0) {
        perror(tmp_name);
        abort();
    }
    snprintf(tmp_path, sizeof tmp_path, "/proc/self/fd/%d", tmp_fd);
    if (stat(tmp_path, &by_path) == 0 && fstat(tmp_fd, &by_fd) == 0 &&
        by_path.st_ino == by_fd.st_ino && by_path.st_dev == by_fd.st_dev) {
        unlink(tmp_name);
        tmp_name[0] = '\0';
    } else {
        memcpy(tmp_path, tmp_name, sizeof tmp_path);
        atexit(remove_tmp);
    }
}

const char *fuzz_tmp_file(const uint8_t *data, size_t size)
{
    if (tmp_fd < 0) {
        tmp_open();
    }
    if ((size > 0 && pwrite(tmp_fd, data, size, 0) != (ssize_t)size) ||
        ftruncate(tmp_fd, (off_t)size) != 0) {
        perror("fuzz scratch file");
        abort();
    }
    return tmp_path;
}
