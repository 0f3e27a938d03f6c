/* Links the per-header C99 checks (header_check.c.in) into one program. */
int cvm_header_check_cvm(void);
int cvm_header_check_common(void);
int cvm_header_check_version(void);
int cvm_header_check_customers(void);
int cvm_header_check_clv(void);
int cvm_header_check_segment(void);
int cvm_header_check_attribution(void);

int main(void)
{
    return cvm_header_check_cvm() + cvm_header_check_common() + cvm_header_check_version() +
           cvm_header_check_customers() + cvm_header_check_clv() + cvm_header_check_segment() +
           cvm_header_check_attribution();
}
