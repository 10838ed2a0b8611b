"""Marks one version requirement in an ELF64 little-endian shared library's .gnu.version_r as weak.

A weak requirement (VER_FLG_WEAK, 0x2) that the loaded library does not provide is not an error for the dynamic
loader. Usage: weaken-version-need.py FILE VERSION. Exits 1 when the file has no such requirement.
"""
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def main(path: str, version: str) -> int:
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            print(f"{path}: not an ELF64 little-endian file", file=sys.stderr)
            return 1
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        found = False
        for _, sh_type, _, _, sh_offset, _, sh_link, sh_info, _, _ in sections:
            if sh_type != SHT_GNU_VERNEED:
                continue
            strtab = sections[sh_link][4]
            need = sh_offset
            for _ in range(sh_info):
                _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from("<HHIII", data, need)
                aux = need + vn_aux
                for _ in range(vn_cnt):
                    _, vna_flags, _, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                    end = data.index(b"\0", strtab + vna_name)
                    if data[strtab + vna_name:end].decode() == version:
                        struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                        found = True
                    aux += vna_next
                need += vn_next
        if not found:
            print(f"{path}: no requirement of version {version}", file=sys.stderr)
            return 1
        f.seek(0)
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
