DROP TABLE special_category_reads;
DROP TABLE referral_comments;
DROP TABLE referral_transitions;
DROP TABLE referrals;
DROP TABLE households;
DROP TABLE measure_kinds;
