/*
 * wire.c: mockres_net_wire HOST_IF NET_IF CONTROL_FILE: a network cable
 * that can delay, for the net tests on a kernel without sch_netem.
 *
 * Moves every Ethernet frame between two interfaces of the namespace it
 * runs in: from HOST_IF (the host's veth peer) to NET_IF (a veth whose
 * peer is a bridge port), and back.  Frames from the host are held for
 * the delay in CONTROL_FILE before they go on, in order, which is what
 * "tc qdisc add dev eth0 root netem delay MS" does on the host's egress;
 * frames to the host pass at once.  TCP, TLS and ARP run end to end
 * through it: nothing is terminated or rewritten.
 *
 * The frames are read and written with AF_PACKET sockets with
 * PACKET_VNET_HDR: a veth hands over GSO super-frames with partial
 * checksums, and the virtio-net header carries what the sending side
 * needs to segment and checksum them as the kernel would have.
 *
 * CONTROL_FILE holds one line, read at start and on every SIGHUP:
 *   delay MS   hold the host's frames MS milliseconds (0..10000)
 *   drop       drop every frame both ways (netem "loss 100%")
 * Each change is printed ("wire: delay 20 ms", "wire: drop").  SIGTERM or
 * SIGINT: prints the counts and exits 0.  At most 64 MiB wait in the
 * delay line; frames past that are dropped and counted, as a full queue
 * of a real link drops them.  Exit 1 on a set-up error, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define WIRE_FRAME_MAX       (128 * 1024) /* a vnet header and a GSO frame */
#define WIRE_QUEUE_BYTES_MAX (64u * 1024 * 1024)
#define WIRE_BURST           256 /* frames read per wake-up, per side */

struct wire_frame {
	struct wire_frame *next;
	uint64_t due_ns;
	size_t len;
	unsigned char data[];
};

struct wire {
	int host_fd;
	int net_fd;
	const char *control;
	uint64_t delay_ns;
	int drop;
	struct wire_frame *head;
	struct wire_frame *tail;
	size_t queued_bytes;
	uint64_t to_net;
	uint64_t to_host;
	uint64_t dropped;
};

static volatile sig_atomic_t wire_reload;
static volatile sig_atomic_t wire_stop;

static void
wire_on_signal(int sig)
{
	if (sig == SIGHUP)
		wire_reload = 1;
	else
		wire_stop = 1;
}

/* A packet socket on IFNAME: every frame, none of our own, vnet headers. */
static int
wire_open(const char *ifname)
{
	struct sockaddr_ll sll;
	unsigned int idx = if_nametoindex(ifname);
	int fd, one = 1, buf = 8 * 1024 * 1024;

	if (idx == 0) {
		fprintf(stderr, "wire: no interface %s: %s\n", ifname,
		        strerror(errno));
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            htons(ETH_P_ALL));
	if (fd == -1) {
		fprintf(stderr, "wire: packet socket: %s (needs root)\n",
		        strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ==
	        -1 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
	               sizeof(one)) == -1) {
		fprintf(stderr, "wire: %s: packet options: %s\n", ifname,
		        strerror(errno));
		close(fd);
		return -1;
	}
	/* Bursts of a serial run's replies must not overflow: best effort. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		fprintf(stderr, "wire: bind to %s: %s\n", ifname,
		        strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read CONTROL_FILE: 0 applied, -1 left as it was (and said why). */
static int
wire_read_control(struct wire *w)
{
	char line[64] = "";
	FILE *f = fopen(w->control, "r");

	if (f == NULL) {
		fprintf(stderr, "wire: %s: %s\n", w->control, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "drop") == 0) {
		w->drop = 1;
		printf("wire: drop\n");
		return 0;
	}
	if (strncmp(line, "delay ", 6) == 0) {
		char *end;
		unsigned long ms;

		errno = 0;
		ms = strtoul(line + 6, &end, 10);
		if (errno == 0 && end != line + 6 && *end == '\0' &&
		    ms <= 10000) {
			w->drop = 0;
			w->delay_ns = (uint64_t)ms * 1000000u;
			printf("wire: delay %lu ms\n", ms);
			return 0;
		}
	}
	fprintf(stderr,
	        "wire: %s: '%s' is neither 'delay MS' (0..10000) "
	        "nor 'drop': kept the old setting\n",
	        w->control, line);
	return -1;
}

/* Send one frame (vnet header included) out of FD; a full queue drops it. */
static void
wire_send(struct wire *w, int fd, const unsigned char *data, size_t len)
{
	if (send(fd, data, len, 0) == -1)
		w->dropped++;
}

/* Frames from the host: on at once, or into the delay line. */
static void
wire_from_host(struct wire *w, const unsigned char *data, size_t len)
{
	struct wire_frame *fr;
	uint64_t due;

	if (w->delay_ns == 0 && w->head == NULL) {
		wire_send(w, w->net_fd, data, len);
		w->to_net++;
		return;
	}
	if (w->queued_bytes + len > WIRE_QUEUE_BYTES_MAX) {
		w->dropped++;
		return;
	}
	fr = malloc(sizeof(*fr) + len);
	if (fr == NULL) {
		w->dropped++;
		return;
	}
	/* In order: a shorter new delay never lets a frame overtake. */
	due = clock_now_ns() + w->delay_ns;
	if (w->tail != NULL && due < w->tail->due_ns)
		due = w->tail->due_ns;
	fr->next = NULL;
	fr->due_ns = due;
	fr->len = len;
	memcpy(fr->data, data, len);
	if (w->tail != NULL)
		w->tail->next = fr;
	else
		w->head = fr;
	w->tail = fr;
	w->queued_bytes += len;
}

/* Send every frame whose time has come. */
static void
wire_release(struct wire *w)
{
	uint64_t now = clock_now_ns();

	while (w->head != NULL && w->head->due_ns <= now) {
		struct wire_frame *fr = w->head;

		w->head = fr->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued_bytes -= fr->len;
		wire_send(w, w->net_fd, fr->data, fr->len);
		w->to_net++;
		free(fr);
	}
}

/* Read what waits on FD (at most a burst); FROM_HOST says which side. */
static void
wire_drain(struct wire *w, int fd, int from_host,
           unsigned char buf[WIRE_FRAME_MAX])
{
	for (int i = 0; i < WIRE_BURST; i++) {
		ssize_t n = recv(fd, buf, WIRE_FRAME_MAX, 0);

		if (n <= 0)
			return;
		if (w->drop) {
			w->dropped++;
		} else if (from_host) {
			wire_from_host(w, buf, (size_t)n);
		} else {
			wire_send(w, w->host_fd, buf, (size_t)n);
			w->to_host++;
		}
	}
}

static void
wire_loop(struct wire *w, const sigset_t *waitmask)
{
	static unsigned char buf[WIRE_FRAME_MAX];
	struct pollfd pfd[2] = {{.fd = w->host_fd, .events = POLLIN},
	                        {.fd = w->net_fd, .events = POLLIN}};

	while (!wire_stop) {
		struct timespec ts, *tsp = NULL;

		if (w->head != NULL) {
			uint64_t now = clock_now_ns();
			uint64_t wait =
			    w->head->due_ns > now ? w->head->due_ns - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, waitmask) == -1 && errno != EINTR) {
			fprintf(stderr, "wire: poll: %s\n", strerror(errno));
			return;
		}
		if (wire_reload) {
			wire_reload = 0;
			wire_read_control(w);
			fflush(stdout);
		}
		if (pfd[0].revents & POLLIN)
			wire_drain(w, w->host_fd, 1, buf);
		if (pfd[1].revents & POLLIN)
			wire_drain(w, w->net_fd, 0, buf);
		wire_release(w);
	}
}

int
main(int argc, char **argv)
{
	struct wire w;
	struct sigaction sa;
	sigset_t block, waitmask;

	if (argc != 4) {
		fprintf(stderr, "usage: mockres_net_wire HOST_IF NET_IF "
		                "CONTROL_FILE\n");
		return 2;
	}
	memset(&w, 0, sizeof(w));
	w.control = argv[3];
	if (wire_read_control(&w) == -1)
		return 1;

	/* The signals arrive only inside ppoll: no race with the flags. */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wire_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	w.host_fd = wire_open(argv[1]);
	w.net_fd = w.host_fd == -1 ? -1 : wire_open(argv[2]);
	if (w.host_fd == -1 || w.net_fd == -1)
		return 1;
	printf("wire: ready %s <-> %s\n", argv[1], argv[2]);
	fflush(stdout);

	wire_loop(&w, &waitmask);

	while (w.head != NULL) {
		struct wire_frame *fr = w.head;

		w.head = fr->next;
		free(fr);
	}
	printf("wire: stopped: %llu frames to the network, %llu to the host, "
	       "%llu dropped\n",
	       (unsigned long long)w.to_net, (unsigned long long)w.to_host,
	       (unsigned long long)w.dropped);
	close(w.host_fd);
	close(w.net_fd);
	return 0;
}
