"""The cue words the keyword classifier scores a customer's turn by, in Chinese and English.

Lower-case; Chinese cues match as substrings, English ones as whole words or phrases. Each
table is one kind of evidence with its weight in `classifier.KeywordClassifier`; a longer cue
is matched before a shorter one inside it (紧急 before 急), so nothing counts twice. Measured on
the labelled utterances in tests/data/classifier_utterances.jsonl (bench/classifier_quality.py).
"""

from __future__ import annotations

from collections.abc import Sequence

# Anger on its own: one of these and any intensifier reach the escalation threshold (8).
STRONG_ANGER: Sequence[str] = (
    "furious", "livid", "outrageous", "unacceptable", "disgusting", "pathetic", "worst", "scam", "useless",
    "sick and tired", "fed up", "enough is enough", "what the hell", "wtf", "damn", "beyond frustrated",
    "so angry", "extremely angry", "a joke", "unbelievable", "lied to me",
    "气死", "愤怒", "受够", "忍无可忍", "垃圾", "骗子", "无耻", "恶心", "他妈", "黑心", "太过分", "离谱",
    "破服务", "差到极点", "抢钱", "气人", "什么玩意", "太差",
)
MODERATE_ANGER: Sequence[str] = (
    "angry", "ridiculous", "terrible", "awful", "frustrated", "annoyed", "nobody cares", "doing nothing",
    "生气", "欺骗", "敷衍", "浪费我的时间", "不管",
)
# Leaving, suing, going to a regulator or the press, asking for the boss.
THREATS: Sequence[str] = (
    "lawyer", "sue you", "regulator", "report you", "your manager", "cancel everything", "cancel my account",
    "消协", "举报", "曝光", "找你们领导", "工信部", "再也不用",
)
# Praise that means the opposite: frustration said with a smile.
SARCASM: Sequence[str] = (
    "oh great", "just what i needed", "thanks for nothing", "yeah right", "congratulations", "love how",
    "love paying", "genius", "great job, really", "i have all day", "oh perfect", "you guys are amazing. not",
    "fantastic, another", "wonderful, the", "brilliant service",
    "呵呵", "真行", "服了", "真是太好了", "效率真高", "可真厉害", "厉害了", "谢谢你们全家", "服务到家",
    "好一个", "恭喜你们",
)
# It keeps happening or has taken long: adds to anger, does not make it.
REPETITION: Sequence[str] = (
    "again", "third time", "fifth day", "twice", "how many times", "on hold", "hours", "days", "a week",
    "you people", "nobody",
    "又", "第三次", "十次", "一个星期", "一周", "两个小时", "一个小时", "一个月", "到底",
)
INTENSIFIERS: Sequence[str] = (
    "absolutely", "utterly", "totally", "extremely", "really", "so", "beyond",
    "简直", "非常", "真的是", "太",
)
# Said in earnest, these soften a turn (a polite complaint is not an angry one).
POLITE: Sequence[str] = (
    "please", "kindly", "thank you", "thanks", "sorry", "would like", "i'd like", "could you", "would you mind",
    "with respect", "unfortunately",
    "您好", "麻烦", "请", "谢谢", "不好意思", "希望",
)
# Emergencies: explicit urgency, a hazard to someone's safety, a stolen line or card, and a
# formal complaint (the seeds send complaints to supervisors).
EMERGENCY: Sequence[str] = (
    "urgent", "emergency", "asap", "immediately", "right away", "time critical", "safety", "complaint",
    "complain", "gas leak", "smell gas", "caught fire", "fire in", "smoke", "sparks", "burning", "burned",
    "electrocute", "electric shock", "explode", "injured", "stolen", "hacked",
    "投诉", "紧急", "十万火急", "急", "马上", "立即", "尽快", "安全", "冒烟", "着火", "漏电", "泄漏", "煤气",
    "被电", "火花", "爆炸", "受伤", "烟雾", "危险", "被盗", "被偷", "盗刷",
)
# Phrases that name a cue without meaning it ("not urgent", "safety deposit"); removed first.
DISCLAIMED: Sequence[str] = (
    "not urgent", "no rush", "not angry", "safety deposit", "safety settings",
    "不急", "不着急", "不生气", "安全模式",
)
