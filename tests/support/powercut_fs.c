// powercut_fs: a FUSE file system that can lose power, for tests/integration/test_power_cut.py.
//
//   powercut_fs --backing DIR --durable DIR --log FILE [--keep P] [--seed N] [--lie] MOUNTPOINT
//
// It mounts over MOUNTPOINT (in the foreground, single-threaded) and passes every operation
// through to the backing directory: the "current" state, where each write lands at once, so
// that reads are always consistent. Beside it, the durable directory holds only what a disk
// would still hold after a power cut: per file it tracks the byte ranges written (and the
// truncations) since that file's last fsync or fdatasync, and an fsync copies those ranges
// (their current bytes) and the current size into the durable copy of the file.
//
// Simplification: directory operations (create, mkdir, unlink, rmdir, rename) are applied to
// both directories at once, as if the file system's metadata journal were synchronous; only
// file contents and sizes wait for an fsync. Timestamps and modes are not copied to durable.
//
// The plug: a stat (lookup) of "/.powercut" on the mount pulls it, between two operations
// (the loop is single-threaded): the stat succeeds, and from then on every operation fails
// with EIO, so nothing more reaches durable. With --keep P (0 < P <= 1, seeded by --seed) each
// 4 KiB page of the ranges written since the last fsync (and each pending truncation) is also
// applied to durable with probability P, as a disk that wrote back some unsynced pages does.
// With --lie fsync succeeds and is logged but durable is never updated (a disk that acks
// flushes it never does): for checking that the test catches a lost commit.
//
// The log (one line per event, flushed at once; times are wall-clock ms since the epoch):
//   fsync <ms> <path>        an fsync of <path> completed (fdatasync: "fdatasync")
//   cut <ms> pages=<n> kept=<k>   the plug was pulled; n unsynced pages, k of them kept
// Bounds: at most MAX_FILES files tracked at once, MAX_RANGES ranges per file (then they are
// merged into one span, which copies more at the next fsync but never loses a byte).
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 256
#define MAX_RANGES 1024
#define PAGE 4096
#define CONTROL_NAME "/.powercut"

// A byte range [start, end) written since the last fsync.
struct range {
    off_t start;
    off_t end;
};

// What one file (a backing inode) has had written since its last fsync.
struct tracked {
    int used;             // this slot holds a file
    int alive;            // still has a name (not unlinked or renamed over)
    int refs;             // open handles
    ino_t ino;            // the backing file's inode
    char path[PATH_MAX];  // its path on the mount ("/buffer.db")
    struct range ranges[MAX_RANGES];
    size_t n_ranges;
    off_t min_truncate;  // smallest size truncated to since the last fsync, or -1
};

// An open file: the backing descriptor and the tracked file it writes.
struct handle {
    int fd;
    struct tracked* file;
};

static struct tracked files[MAX_FILES];
static char backing_dir[PATH_MAX];
static char durable_dir[PATH_MAX];
static FILE* log_file;
static double keep_probability;
static uint64_t rng_state = 1;
static int lie;
static int plug_pulled;

// Wall-clock milliseconds since the epoch, for the log.
static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// The next number of a seeded splitmix64 sequence.
static uint64_t next_random(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// True with probability keep_probability.
static int keep_this_one(void) {
    return (double)(next_random() >> 11) / (double)(1ULL << 53) < keep_probability;
}

// Joins a root directory and a mount path into out; -ENAMETOOLONG when it does not fit.
static int join(char* out, const char* root, const char* path) {
    const int n = snprintf(out, PATH_MAX, "%s%s", root, path);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

// The tracked file with this backing inode that still has a name, or NULL.
static struct tracked* find_by_ino(ino_t ino) {
    for (size_t i = 0; i < MAX_FILES; ++i) {
        if (files[i].used && files[i].alive && files[i].ino == ino)
            return &files[i];
    }
    return NULL;
}

// The tracked file named `path`, or NULL.
static struct tracked* find_by_path(const char* path) {
    for (size_t i = 0; i < MAX_FILES; ++i) {
        if (files[i].used && files[i].alive && strcmp(files[i].path, path) == 0)
            return &files[i];
    }
    return NULL;
}

// The tracked file of an open backing descriptor, made when it is new; NULL when full.
static struct tracked* track(int fd, const char* path) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NULL;
    struct tracked* file = find_by_ino(st.st_ino);
    if (file != NULL)
        return file;
    for (size_t i = 0; i < MAX_FILES; ++i) {
        if (files[i].used && (files[i].alive || files[i].refs > 0))
            continue;
        file = &files[i];
        memset(file, 0, sizeof(*file));
        file->used = 1;
        file->alive = 1;
        file->ino = st.st_ino;
        file->min_truncate = -1;
        snprintf(file->path, sizeof(file->path), "%s", path);
        return file;
    }
    return NULL;
}

// Notes [start, end) as written: the ranges stay sorted, disjoint and not adjacent.
static void note_written(struct tracked* file, off_t start, off_t end) {
    if (file == NULL || end <= start)
        return;
    size_t i = 0;
    while (i < file->n_ranges && file->ranges[i].end < start)
        ++i;
    size_t j = i;  // ranges i..j-1 touch [start, end): merged into one
    while (j < file->n_ranges && file->ranges[j].start <= end) {
        if (file->ranges[j].start < start)
            start = file->ranges[j].start;
        if (file->ranges[j].end > end)
            end = file->ranges[j].end;
        ++j;
    }
    if (j == i && file->n_ranges == MAX_RANGES) {  // full: one span over everything
        start = start < file->ranges[0].start ? start : file->ranges[0].start;
        const off_t last = file->ranges[file->n_ranges - 1].end;
        file->ranges[0] = (struct range){start, end > last ? end : last};
        file->n_ranges = 1;
        return;
    }
    if (j == i) {  // a new range at i
        memmove(&file->ranges[i + 1], &file->ranges[i],
                (file->n_ranges - i) * sizeof(struct range));
        ++file->n_ranges;
    } else if (j > i + 1) {  // i..j-1 collapse into i
        memmove(&file->ranges[i + 1], &file->ranges[j],
                (file->n_ranges - j) * sizeof(struct range));
        file->n_ranges -= j - i - 1;
    }
    file->ranges[i] = (struct range){start, end};
}

// Notes a truncation to `size`: bytes past it are zeros unless written later.
static void note_truncated(struct tracked* file, off_t size) {
    if (file != NULL && (file->min_truncate < 0 || size < file->min_truncate))
        file->min_truncate = size;
}

// Copies [start, end) of the backing file `from` into the durable file `to`; 0 or -errno.
static int copy_range(int from, int to, off_t start, off_t end) {
    static char buf[64 * 1024];
    while (start < end) {
        const size_t want = end - start < (off_t)sizeof(buf) ? (size_t)(end - start) : sizeof(buf);
        const ssize_t got = pread(from, buf, want, start);
        if (got < 0)
            return -errno;
        if (got == 0)
            return 0;  // past the end: nothing more there
        if (pwrite(to, buf, (size_t)got, start) != got)
            return -EIO;
        start += got;
    }
    return 0;
}

// The backing and durable descriptors of a tracked file for copying; 0 or -errno.
static int open_pair(const struct tracked* file, int* from, int* to) {
    char path[PATH_MAX];
    int res = join(path, backing_dir, file->path);
    if (res != 0)
        return res;
    *from = open(path, O_RDONLY | O_CLOEXEC);
    if (*from < 0)
        return -errno;
    if ((res = join(path, durable_dir, file->path)) != 0 ||
        (*to = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        res = res != 0 ? res : -errno;
        close(*from);
        return res;
    }
    return 0;
}

// fsync: makes what was written to the file since its last fsync durable; 0 or -errno.
static int make_durable(struct tracked* file) {
    if (!file->alive) {  // unlinked: its durable copy is gone too
        file->n_ranges = 0;
        file->min_truncate = -1;
        return 0;
    }
    int from, to;
    int res = open_pair(file, &from, &to);
    if (res != 0)
        return res;
    struct stat st;
    if (fstat(from, &st) != 0)
        res = -errno;
    if (res == 0 && file->min_truncate >= 0 && ftruncate(to, file->min_truncate) != 0)
        res = -errno;
    for (size_t i = 0; res == 0 && i < file->n_ranges; ++i) {
        const off_t end = file->ranges[i].end < st.st_size ? file->ranges[i].end : st.st_size;
        res = copy_range(from, to, file->ranges[i].start, end);
    }
    if (res == 0 && ftruncate(to, st.st_size) != 0)
        res = -errno;
    close(from);
    close(to);
    if (res == 0) {
        file->n_ranges = 0;
        file->min_truncate = -1;
    }
    return res;
}

// At the cut: counts the unsynced pages of `file` (and a pending truncation as one) and, with
// --keep, applies each to durable with probability P.
static void keep_some(struct tracked* file, long long* pages, long long* kept) {
    int from = -1, to = -1;
    if (!file->alive || (file->n_ranges == 0 && file->min_truncate < 0))
        return;
    const int apply = keep_probability > 0 && open_pair(file, &from, &to) == 0;
    if (file->min_truncate >= 0) {
        ++*pages;
        if (apply && keep_this_one() && ftruncate(to, file->min_truncate) == 0)
            ++*kept;
    }
    for (size_t i = 0; i < file->n_ranges; ++i) {
        for (off_t at = file->ranges[i].start; at < file->ranges[i].end;) {
            const off_t page_end = (at / PAGE + 1) * PAGE;
            const off_t end = page_end < file->ranges[i].end ? page_end : file->ranges[i].end;
            ++*pages;
            if (apply && keep_this_one() && copy_range(from, to, at, end) == 0)
                ++*kept;
            at = end;
        }
    }
    if (apply) {
        close(from);
        close(to);
    }
}

// Pulls the plug: from now on every operation fails, and durable keeps what it has.
static void pull_the_plug(void) {
    long long pages = 0, kept = 0;
    plug_pulled = 1;
    for (size_t i = 0; i < MAX_FILES; ++i) {
        if (files[i].used)
            keep_some(&files[i], &pages, &kept);
    }
    fprintf(log_file, "cut %lld pages=%lld kept=%lld\n", now_ms(), pages, kept);
    fflush(log_file);
}

// The backing path of a mount path, for the path-based operations; 0 or -errno.
static int backing(char* out, const char* path) {
    return plug_pulled ? -EIO : join(out, backing_dir, path);
}

// The handle of an open file.
static struct handle* handle_of(const struct fuse_file_info* fi) {
    return (struct handle*)(uintptr_t)fi->fh;
}

// Sets the cache options: nothing bypasses the page cache (SQLite mmaps the -shm file).
static void* pc_init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
    (void)conn;
    cfg->use_ino = 1;
    cfg->hard_remove = 1;  // no .fuse_hidden renames: an unlinked open file keeps its handle
    cfg->nullpath_ok = 1;
    cfg->negative_timeout = 0;  // a lookup of the control name always reaches us
    cfg->direct_io = 0;
    return NULL;
}

// stat: the backing file's; a stat of the control name pulls the plug.
static int pc_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
    if (plug_pulled)
        return -EIO;
    if (fi == NULL && strcmp(path, CONTROL_NAME) == 0) {
        pull_the_plug();
        memset(st, 0, sizeof(*st));
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        return 0;
    }
    if (fi != NULL)
        return fstat(handle_of(fi)->fd, st) == 0 ? 0 : -errno;
    char p[PATH_MAX];
    int res = backing(p, path);
    return res != 0 ? res : lstat(p, st) == 0 ? 0 : -errno;
}

// access(2) on the backing file.
static int pc_access(const char* path, int mask) {
    char p[PATH_MAX];
    int res = backing(p, path);
    return res != 0 ? res : access(p, mask) == 0 ? 0 : -errno;
}

// Opens the backing directory for readdir (which gets no path: nullpath_ok).
static int pc_opendir(const char* path, struct fuse_file_info* fi) {
    char p[PATH_MAX];
    int res = backing(p, path);
    if (res != 0)
        return res;
    DIR* dir = opendir(p);
    if (dir == NULL)
        return -errno;
    fi->fh = (uint64_t)(uintptr_t)dir;
    return 0;
}

// Lists the backing directory opened by pc_opendir.
static int pc_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t offset,
                      struct fuse_file_info* fi, enum fuse_readdir_flags flags) {
    (void)path;
    (void)offset;
    (void)flags;
    if (plug_pulled)
        return -EIO;
    DIR* dir = (DIR*)(uintptr_t)fi->fh;
    rewinddir(dir);
    for (struct dirent* e = readdir(dir); e != NULL; e = readdir(dir)) {
        struct stat st;
        memset(&st, 0, sizeof(st));
        st.st_ino = e->d_ino;
        st.st_mode = (mode_t)e->d_type << 12;
        if (filler(buf, e->d_name, &st, 0, 0) != 0)
            break;
    }
    return 0;
}

// Closes a directory opened by pc_opendir (also after the cut).
static int pc_releasedir(const char* path, struct fuse_file_info* fi) {
    (void)path;
    closedir((DIR*)(uintptr_t)fi->fh);
    return plug_pulled ? -EIO : 0;
}

// Runs a directory operation on both trees: fn(backing path, durable path).
static int on_both(const char* path, int (*fn)(const char*, mode_t), mode_t mode) {
    char b[PATH_MAX], d[PATH_MAX];
    int res = backing(b, path);
    if (res != 0 || (res = join(d, durable_dir, path)) != 0)
        return res;
    if (fn(b, mode) != 0)
        return -errno;
    fn(d, mode);  // durable follows; it may lack what was made before the mount
    return 0;
}

// mkdir(2) with the (mode-taking) signature on_both wants.
static int do_mkdir(const char* p, mode_t mode) {
    return mkdir(p, mode);
}

// rmdir(2) with the signature on_both wants.
static int do_rmdir(const char* p, mode_t mode) {
    (void)mode;
    return rmdir(p);
}

// unlink(2) with the signature on_both wants.
static int do_unlink(const char* p, mode_t mode) {
    (void)mode;
    return unlink(p);
}

// mkdir in both trees.
static int pc_mkdir(const char* path, mode_t mode) {
    return on_both(path, do_mkdir, mode);
}

// rmdir in both trees.
static int pc_rmdir(const char* path) {
    return on_both(path, do_rmdir, 0);
}

// unlink in both trees; the file's pending writes die with its name.
static int pc_unlink(const char* path) {
    const int res = on_both(path, do_unlink, 0);
    struct tracked* file = res == 0 ? find_by_path(path) : NULL;
    if (file != NULL)
        file->alive = 0;
    return res;
}

// rename in both trees (no flags); tracked names follow, a replaced file is gone.
static int pc_rename(const char* from, const char* to, unsigned int flags) {
    char bf[PATH_MAX], bt[PATH_MAX], df[PATH_MAX], dt[PATH_MAX];
    if (flags != 0)
        return -EINVAL;
    int res = backing(bf, from);
    if (res != 0 || (res = backing(bt, to)) != 0 || (res = join(df, durable_dir, from)) != 0 ||
        (res = join(dt, durable_dir, to)) != 0) {
        return res;
    }
    if (rename(bf, bt) != 0)
        return -errno;
    if (strcmp(from, to) == 0)
        return 0;
    rename(df, dt);
    struct tracked* replaced = find_by_path(to);
    if (replaced != NULL)
        replaced->alive = 0;
    const size_t n = strlen(from);
    for (size_t i = 0; i < MAX_FILES; ++i) {  // the file itself, or files under a directory
        struct tracked* f = &files[i];
        if (!f->used || !f->alive || strncmp(f->path, from, n) != 0 ||
            (f->path[n] != '\0' && f->path[n] != '/')) {
            continue;
        }
        char moved[PATH_MAX];
        if (snprintf(moved, sizeof(moved), "%s%s", to, f->path + n) < PATH_MAX)
            memcpy(f->path, moved, sizeof(moved));
    }
    return 0;
}

// Opens (or creates) the backing file and tracks it; O_TRUNC counts as a truncation.
static int open_tracked(const char* path, struct fuse_file_info* fi, int flags, mode_t mode) {
    char p[PATH_MAX];
    int res = backing(p, path);
    if (res != 0)
        return res;
    struct handle* h = malloc(sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    h->fd = open(p, flags | O_CLOEXEC, mode);
    if (h->fd < 0) {
        res = -errno;
        free(h);
        return res;
    }
    h->file = track(h->fd, path);
    if (h->file == NULL) {
        close(h->fd);
        free(h);
        return -ENFILE;
    }
    ++h->file->refs;
    if (flags & O_TRUNC)
        note_truncated(h->file, 0);
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

// create: the file appears in both trees at once (empty in durable until an fsync).
static int pc_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
    char d[PATH_MAX];
    int res = join(d, durable_dir, path);
    if (res != 0 || (res = open_tracked(path, fi, fi->flags | O_CREAT, mode)) != 0)
        return res;
    const int fd = open(d, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
    if (fd >= 0)
        close(fd);
    return 0;
}

// open an existing file.
static int pc_open(const char* path, struct fuse_file_info* fi) {
    return open_tracked(path, fi, fi->flags, 0);
}

// read from the backing file.
static int pc_read(const char* path, char* buf, size_t size, off_t offset,
                   struct fuse_file_info* fi) {
    (void)path;
    if (plug_pulled)
        return -EIO;
    const ssize_t n = pread(handle_of(fi)->fd, buf, size, offset);
    return n < 0 ? -errno : (int)n;
}

// write to the backing file, noting the range as unsynced.
static int pc_write(const char* path, const char* buf, size_t size, off_t offset,
                    struct fuse_file_info* fi) {
    (void)path;
    if (plug_pulled)
        return -EIO;
    struct handle* h = handle_of(fi);
    const ssize_t n = pwrite(h->fd, buf, size, offset);
    if (n < 0)
        return -errno;
    note_written(h->file, offset, offset + n);
    return (int)n;
}

// truncate or ftruncate the backing file, noting the truncation.
static int pc_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
    if (plug_pulled)
        return -EIO;
    if (fi != NULL) {
        struct handle* h = handle_of(fi);
        if (ftruncate(h->fd, size) != 0)
            return -errno;
        note_truncated(h->file, size);
        return 0;
    }
    char p[PATH_MAX];
    struct stat st;
    int res = backing(p, path);
    if (res != 0)
        return res;
    if (truncate(p, size) != 0)
        return -errno;
    if (lstat(p, &st) == 0)
        note_truncated(find_by_ino(st.st_ino), size);
    return 0;
}

// fallocate (mode 0 only): the allocated range counts as written (zeros).
static int pc_fallocate(const char* path, int mode, off_t offset, off_t length,
                        struct fuse_file_info* fi) {
    (void)path;
    if (plug_pulled)
        return -EIO;
    if (mode != 0)
        return -EOPNOTSUPP;
    struct handle* h = handle_of(fi);
    const int res = posix_fallocate(h->fd, offset, length);
    if (res != 0)
        return -res;
    note_written(h->file, offset, offset + length);
    return 0;
}

// fsync and fdatasync: the file's unsynced ranges and its size go to durable, then logged.
static int pc_fsync(const char* path, int datasync, struct fuse_file_info* fi) {
    (void)path;
    if (plug_pulled)
        return -EIO;
    struct tracked* file = handle_of(fi)->file;
    if (!lie) {
        const int res = make_durable(file);
        if (res != 0)
            return res;
    }
    fprintf(log_file, "%s %lld %s\n", datasync ? "fdatasync" : "fsync", now_ms(), file->path);
    fflush(log_file);
    return 0;
}

// fsync of a directory: directory operations are durable at once here.
static int pc_fsyncdir(const char* path, int datasync, struct fuse_file_info* fi) {
    (void)path;
    (void)datasync;
    (void)fi;
    return plug_pulled ? -EIO : 0;
}

// close(2) of one descriptor of the file: nothing to do, writes are written through.
static int pc_flush(const char* path, struct fuse_file_info* fi) {
    (void)path;
    (void)fi;
    return plug_pulled ? -EIO : 0;
}

// The last close of an open file: frees its handle (also after the cut).
static int pc_release(const char* path, struct fuse_file_info* fi) {
    (void)path;
    struct handle* h = handle_of(fi);
    close(h->fd);
    --h->file->refs;
    free(h);
    return plug_pulled ? -EIO : 0;
}

// Sets the backing file's times.
static int pc_utimens(const char* path, const struct timespec tv[2], struct fuse_file_info* fi) {
    if (plug_pulled)
        return -EIO;
    if (fi != NULL)
        return futimens(handle_of(fi)->fd, tv) == 0 ? 0 : -errno;
    char p[PATH_MAX];
    int res = backing(p, path);
    return res != 0 ? res : utimensat(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

// Sets the backing file's mode.
static int pc_chmod(const char* path, mode_t mode, struct fuse_file_info* fi) {
    if (plug_pulled)
        return -EIO;
    if (fi != NULL)
        return fchmod(handle_of(fi)->fd, mode) == 0 ? 0 : -errno;
    char p[PATH_MAX];
    int res = backing(p, path);
    return res != 0 ? res : chmod(p, mode) == 0 ? 0 : -errno;
}

// Sets the backing file's owner (SQLite does so for its -wal and -shm when run as root).
static int pc_chown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info* fi) {
    if (plug_pulled)
        return -EIO;
    if (fi != NULL)
        return fchown(handle_of(fi)->fd, uid, gid) == 0 ? 0 : -errno;
    char p[PATH_MAX];
    int res = backing(p, path);
    return res != 0 ? res : lchown(p, uid, gid) == 0 ? 0 : -errno;
}

// statvfs of the backing directory.
static int pc_statfs(const char* path, struct statvfs* st) {
    (void)path;
    if (plug_pulled)
        return -EIO;
    return statvfs(backing_dir, st) == 0 ? 0 : -errno;
}

static const struct fuse_operations operations = {
    .init = pc_init,
    .getattr = pc_getattr,
    .access = pc_access,
    .opendir = pc_opendir,
    .readdir = pc_readdir,
    .releasedir = pc_releasedir,
    .mkdir = pc_mkdir,
    .rmdir = pc_rmdir,
    .unlink = pc_unlink,
    .rename = pc_rename,
    .create = pc_create,
    .open = pc_open,
    .read = pc_read,
    .write = pc_write,
    .truncate = pc_truncate,
    .fallocate = pc_fallocate,
    .fsync = pc_fsync,
    .fsyncdir = pc_fsyncdir,
    .flush = pc_flush,
    .release = pc_release,
    .utimens = pc_utimens,
    .chmod = pc_chmod,
    .chown = pc_chown,
    .statfs = pc_statfs,
};

// Prints the command line and exits with status 2.
static void usage(void) {
    fprintf(stderr,
            "usage: powercut_fs --backing DIR --durable DIR --log FILE [--keep P] [--seed N] "
            "[--lie] MOUNTPOINT\n");
    exit(2);
}

// Copies an absolute directory name into out (PATH_MAX); exits on a bad one.
static void directory_arg(char* out, const char* arg) {
    char* real = realpath(arg, NULL);
    if (real == NULL || strlen(real) >= PATH_MAX / 2) {
        fprintf(stderr, "powercut_fs: bad directory %s\n", arg);
        exit(2);
    }
    snprintf(out, PATH_MAX, "%s", strcmp(real, "/") == 0 ? "" : real);
    free(real);
}

// Parses the command line and runs the file system in the foreground until unmounted.
int main(int argc, char** argv) {
    const char* log_path = NULL;
    const char* mountpoint = NULL;
    for (int i = 1; i < argc; ++i) {
        const int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--backing") == 0 && has_value) {
            directory_arg(backing_dir, argv[++i]);
        } else if (strcmp(argv[i], "--durable") == 0 && has_value) {
            directory_arg(durable_dir, argv[++i]);
        } else if (strcmp(argv[i], "--log") == 0 && has_value) {
            log_path = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0 && has_value) {
            keep_probability = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--seed") == 0 && has_value) {
            rng_state = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--lie") == 0) {
            lie = 1;
        } else if (argv[i][0] != '-' && mountpoint == NULL) {
            mountpoint = argv[i];
        } else {
            usage();
        }
    }
    if (backing_dir[0] == '\0' || durable_dir[0] == '\0' || log_path == NULL ||
        mountpoint == NULL || !(keep_probability >= 0 && keep_probability <= 1)) {
        usage();
    }
    log_file = fopen(log_path, "a");
    if (log_file == NULL) {
        perror(log_path);
        return 2;
    }
    // Foreground, single-threaded; unmounted by fusermount3 if this process dies.
    char* fuse_argv[] = {argv[0],           "-f", "-s", "-o", "fsname=powercut_fs,auto_unmount",
                         (char*)mountpoint, NULL};
    return fuse_main(6, fuse_argv, &operations, NULL);
}
