/* cvm: the libcvm command-line tool. The commands are in dispatch.c and
 * cmd_*.c, outside main() so that the fuzz harness can link them. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
