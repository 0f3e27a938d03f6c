/* placeholder: being written */
typedef int cvm__placeholder_touches;
