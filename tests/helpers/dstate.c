/* Holds a real fcntl lock on one byte of a file, then blocks in vfork(): the parent waits in
   TASK_KILLABLE, shown as state D, until the child exits after SECONDS. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = atol(argv[2]), .l_len = 1};
    if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0) { perror("lock"); return 1; }
    printf("ready %d\n", getpid()); fflush(stdout);
    pid_t child = vfork();
    if (child == 0) {
        struct timespec ts = {.tv_sec = atoi(argv[3]), .tv_nsec = 0};
        nanosleep(&ts, NULL);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
