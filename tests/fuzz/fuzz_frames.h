/*
 * fuzz_frames.h: the complete frames at the front of a fuzzer's input, one
 * by one, for the fuzzers that check a scanner against protobuf-c on each
 * (fuzz_mockresd, fuzz_mrclient).
 */
#ifndef MOCKRES_FUZZ_FRAMES_H
#define MOCKRES_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* The frame at *OFF in DATA: 1 with its body and length, *OFF past it;
 * 0 at the end, a bad header or a frame cut short. */
static inline int
fuzz_frame_next(const uint8_t *data, size_t size, size_t *off,
                const unsigned char **body, uint32_t *len)
{
	if (size - *off < FRAME_HEADER ||
	    frame_header_parse(data + *off, len) != 0 ||
	    size - *off - FRAME_HEADER < *len)
		return 0;
	*body = data + *off + FRAME_HEADER;
	*off += FRAME_HEADER + *len;
	return 1;
}

#endif
