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

#endif
