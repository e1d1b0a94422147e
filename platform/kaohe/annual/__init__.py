"""Annual assessment (年度考核): special assessments, eligibility, the quota
line, confirmation, 公示, notices, appeals, talks, performance pay and the
province-wide computation."""
