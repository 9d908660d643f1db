// Package insight computes customer segments from order facts: RFM
// scores (quintiles 1–5), the value segment (the top 20% by spend are
// high-value, the 80/20 rule) and the lifecycle stage. The functions are
// pure: the caller loads the facts and stores the result.
//
// It imports no kefu package.
package insight
