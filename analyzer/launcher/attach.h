/* `heaptrail attach PID` and `heaptrail detach PID`: start and stop the
 * recorder inside a running process.  gdb (batch mode, a Python script)
 * loads libheaptrail.so into the process with dlopen and calls the
 * library's heaptrail_attach_start / heaptrail_attach_stop (preload/attach.h)
 * from a thread that is not inside the allocator or the loader.  Called
 * once by analyzer/cli/main.c; installs signal handlers, forks gdb: for the
 * single-threaded command process only. */
#ifndef HEAPTRAIL_ATTACH_H
#define HEAPTRAIL_ATTACH_H

/* argv[0] is "attach": PID and options.  Records until Ctrl-C (SIGINT,
 * SIGTERM, SIGHUP), the end of --duration, `heaptrail detach PID` or the
 * end of the process.  0 when a trace was made, 1 when the attach failed
 * (a line saying why), 2 on a usage error. */
int cmd_attach(int argc, char **argv);
/* argv[0] is "detach": PID.  0 when detached, 1 when it could not. */
int cmd_detach(int argc, char **argv);

#endif /* HEAPTRAIL_ATTACH_H */
