/* `heaptrail html TRACE [-o FILE.html]`: one self-contained interactive
 * page (timeline, flamegraphs at precomputed points, top/leaks/growth
 * tables).  Called by cli/main.c.  Not thread-safe. */
#ifndef HEAPTRAIL_CMD_HTML_H
#define HEAPTRAIL_CMD_HTML_H

int cmd_html(int argc, char **argv);

#endif /* HEAPTRAIL_CMD_HTML_H */
