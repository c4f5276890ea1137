/*
 * sdnotify.h: the two systemd protocols mockres speaks, without libsystemd.
 */
#ifndef MOCKRES_SDNOTIFY_H
#define MOCKRES_SDNOTIFY_H

/*
 * Sends STATE (e.g. "READY=1") to $NOTIFY_SOCKET.  Returns 0 when sent or
 * when not running under systemd, -1 on a send error.
 */
int sdnotify_send(const char *state);

/*
 * Returns the first socket passed by systemd socket activation (fd 3),
 * made close-on-exec and non-blocking, and unsets LISTEN_PID/LISTEN_FDS/
 * LISTEN_FDNAMES; or -1 when none was passed to this process.
 */
int sdnotify_listen_fd(void);

/*
 * Every socket passed by systemd (fds 3..), at most MAX into FDS, made
 * close-on-exec and non-blocking; the LISTEN_* variables are unset.
 * Returns how many (0 when none was passed to this process).
 */
int sdnotify_listen_fds(int *fds, int max);

#endif
