/* placeholder: being written */
typedef int cvm__placeholder_hyp2f1;
