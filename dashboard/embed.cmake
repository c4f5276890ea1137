# cmake -DIN=file -DOUT=file.c -DNAME=sym -P embed.cmake
# Writes IN as "const unsigned char NAME[]" and "const size_t NAME_len"
# (plus a trailing NUL not counted), so the page ships inside the binary.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}"
  "/* generated from ${IN} by embed.cmake; do not edit */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ${NAME}[];\n"
  "extern const size_t ${NAME}_len;\n"
  "const unsigned char ${NAME}[] = {\n${bytes}0x00\n};\n"
  "const size_t ${NAME}_len = ${len};\n")
