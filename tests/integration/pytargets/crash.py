"""A Python program that dies of SIGABRT holding N bytes objects of 1000
bytes (one malloc each under PYTHONMALLOC=malloc): the recorder's crash
handler must still write every allocation, with its Python line.

Usage: crash.py N"""
import os
import sys


def main(n):
    blocks = [None] * n
    for i in range(n):
        blocks[i] = bytes(1000)  # @site:blocks
    print("holding", len(blocks), flush=True)
    os.abort()


main(int(sys.argv[1]))
