/* placeholder: being written */
#include "testutil.h"

int main(void)
{
    return tu_run(suite_create("attribution"));
}
