"""Writes bench/questions.jsonl: our own evaluation set (not the shared dev set).

Facts are paraphrased so that questions share few words with the text; every fact is asked in
Korean and in English; phi-1 facts need the phi-1 PDF in the index; unanswerable questions have
empty evidence. ``questions_pdf.jsonl`` asks 42 more facts of the phi-1 paper's body, to judge how
PDFs are read and cut; ``questions_heldout.jsonl`` 20 facts and 3 unanswerable questions written
after the others to be measured once (see ``HELDOUT_FACTS``); ``questions_dates.jsonl`` asks events by
their date (``DATED_FACTS``), ``questions_offtopic.jsonl`` what no document here is about.
Run: python bench/questions.py
"""

import json
from pathlib import Path

FACTS = [
    # (id, Korean question, English question, evidence strings)
    (
        "gdp_share",
        "2000년 세계 경제에서 미국과 중국이 차지한 몫은 각각 얼마였나?",
        "What shares of world GDP did the US and China hold in 2000?",
        ["30.1%, 3.5%"],
    ),
    (
        "entity_list",
        "2022년 말 기준 미국 제재 명단에 오른 중국 회사 수는?",
        "By the end of 2022, how many Chinese firms were on the US Entity List?",
        ["687개의 중국 기업"],
    ),
    (
        "gallium",
        "중국이 2023년 8월부터 수출을 통제한 금속 관련 품목은 몇 개인가?",
        "How many gallium-related items did China restrict for export from August 2023?",
        ["갈륨 관련 8개"],
    ),
    (
        "montana",
        "틱톡 사용을 전면 금지하겠다고 선언한 미국의 주는?",
        "Which US state declared a total ban on TikTok from January 2024?",
        ["몬태나주"],
    ),
    (
        "gpt4_gpus",
        "GPT4 개발에 투입된 것으로 추정되는 그래픽 처리장치 수는?",
        "Roughly how many GPUs are estimated to have been used for GPT-4?",
        ["GPU 약 1만 개"],
    ),
    (
        "h100_speed",
        "H100은 이전 세대 A100보다 훈련이 얼마나 빠른가?",
        "How much faster does the H100 train compared with the A100?",
        ["학습 속도가 9배"],
    ),
    (
        "co2",
        "챗GPT 훈련으로 배출된 탄소는 몇 톤으로 환산되나?",
        "How many tonnes of CO2 does the training of ChatGPT correspond to?",
        ["502톤"],
    ),
    (
        "frontier",
        "1위 슈퍼컴퓨터 프론티어의 초당 연산 횟수는?",
        "How many operations per second does the Frontier supercomputer perform?",
        ["110.2경"],
    ),
    (
        "petaflops",
        "1페타플롭스는 초당 몇 번의 연산인가?",
        "One petaflops corresponds to how many operations per second?",
        ["초당 1,000조 번"],
    ),
    (
        "iso_members",
        "AI 국제표준화 회의의 참여 회원국은 몇 개국인가?",
        "How many participating member countries does the international AI standardisation meeting have?",
        ["31개국"],
    ),
    (
        "chip_subsidy",
        "2022년 중국이 본토 상장 반도체 기업들에 준 보조금 규모는?",
        "How large were the subsidies China paid to listed chip companies in 2022?",
        ["2조 3,000억 원"],
    ),
    (
        "phi1_params_report",
        "마이크로소프트가 발표한 phi-1의 파라미터 수는 보고서에서 얼마로 소개되나?",
        "According to the report, how many parameters does Microsoft's phi-1 have?",
        ["13억"],
    ),
    (
        "training_cost_2030",
        "GPT-3급 모델 학습 비용은 2030년에 얼마까지 떨어질 것으로 예상되나?",
        "What is the projected 2030 training cost of a GPT-3-level model?",
        ["30달러로"],
    ),
    (
        "chip4",
        "미국이 한국·일본·대만에 제안한 반도체 동맹의 이름은?",
        "What alliance did the Biden administration propose to Korea, Japan and Taiwan?",
        ["칩4(Chip4) 동맹"],
    ),
    (
        "micron_ban",
        "중국 당국이 구매를 중단시킨 미국 메모리 기업은?",
        "Which American memory maker's products did Chinese regulators stop buying?",
        ["마이크론 제품 구매 중단"],
    ),
    (
        "tongyi_params",
        "알리바바 언어모델의 매개변수 규모는?",
        "How many parameters does Alibaba's Tongyi Qianwen have?",
        ["10조 개"],
    ),
    ("palm2", "PaLM2의 매개변수는 몇 개인가?", "How many parameters does Google's PaLM 2 have?", ["3,400억 개"]),
    (
        "ms_openai_2019",
        "마이크로소프트가 2019년 OpenAI에 투자한 금액은?",
        "How much did Microsoft invest in OpenAI in 2019?",
        ["약 10억 달러"],
    ),
    (
        "mccarthy",
        "인공지능이라는 용어를 처음 쓴 사람은?",
        "Who first used the term artificial intelligence?",
        ["존 맥카시"],
    ),
    (
        "platform_bill",
        "미국 의회가 발의한 플랫폼 법안 중 유일하게 통과된 것은?",
        "Which of the US platform antitrust bills was the only one to pass?",
        ["Merger Filing Fee Modernization Act"],
    ),
    (
        "chips_fund",
        "미국이 반도체법을 통해 투입하는 자금 규모는?",
        "How much funding does the US commit through the CHIPS and Science Act?",
        ["50조 원"],
    ),
    (
        "china_rnd_growth",
        "2000년부터 2020년 사이 중국의 연구개발 지출은 몇 배 늘었나?",
        "By what factor did China's R&D spending grow between 2000 and 2020?",
        ["17.7배"],
    ),
    (
        "fdpr",
        "AI 칩 관련 중국 기업 21곳에 적용된 미국의 규칙은?",
        "Which US rule was applied to 21 Chinese AI chip companies in December 2022?",
        ["해외직접생산품규칙"],
    ),
    (
        "socialist_values",
        "중국 생성형 AI 규제에서 미국과 가장 다른 점은 무엇인가?",
        "What distinguishes China's generative AI rules from US guidelines?",
        ["사회주의 가치 준수"],
    ),
    (
        "nearshoring",
        "디커플링에 대비해 중국이 생산기지를 인접국으로 옮기는 전략을 무엇이라 하나?",
        "What is China's strategy of moving production to neighbouring countries called?",
        ["니어쇼어링"],
    ),
    (
        "paid_users",
        "챗GPT 유료 구독자를 몇 명으로 가정해 월 매출을 추산했나?",
        "How many paying ChatGPT subscribers did the report assume for its revenue estimate?",
        ["1억 명으로 산정"],
    ),
    # questions only the phi-1 paper answers
    ("phi1_mbpp", "phi-1의 MBPP 정확도는?", "What pass@1 accuracy does phi-1 reach on MBPP?", ["55.5%"]),
    (
        "phi1_gpu_hours",
        "phi-1-base는 몇 GPU 시간 동안 학습되었나?",
        "How many GPU hours did it take to train phi-1 and phi-1-base?",
        ["770 GPU hours"],
    ),
    (
        "phi1_small_humaneval",
        "phi-1-small은 HumanEval에서 몇 퍼센트를 달성했나?",
        "What score does the smaller 350M model achieve on HumanEval?",
        ["45% on HumanEval"],
    ),
    (
        "phi1_web_tokens",
        "phi-1 학습에 쓰인 웹의 교과서 품질 데이터는 몇 토큰인가?",
        "How many tokens of textbook-quality web data were used to train phi-1?",
        ["(6B tokens)"],
    ),
    ("phi1_wizardcoder", "WizardCoder의 HumanEval 점수는?", "What HumanEval score does WizardCoder report?", ["57.3%"]),
    (
        "phi1_base_humaneval",
        "미세조정 전 phi-1-base 모델의 HumanEval 성능은?",
        "How well does phi-1-base do on HumanEval before any finetuning?",
        ["29% HumanEval"],
    ),
]

UNANSWERABLE = [
    ("ua_kimchi", "김치찌개 맛있게 끓이는 법은?", "How do I cook kimchi stew?"),
    ("ua_football", "2022년 월드컵 우승팀은?", "Who won the 2022 football World Cup?"),
    ("ua_samsung_price", "삼성전자 오늘 주가는 얼마인가?", "What is Samsung Electronics' share price today?"),
    ("ua_mars", "화성까지 가는 데 걸리는 시간은?", "How long does a trip to Mars take?"),
    ("ua_nvidia_ceo", "엔비디아 창업자 이름은?", "Who founded Nvidia?"),
    ("ua_naver", "네이버 하이퍼클로바X의 매개변수 수는?", "How many parameters does Naver's HyperCLOVA X have?"),
    ("ua_eu_act", "EU AI법은 언제 발효되었나?", "When did the EU AI Act enter into force?"),
    ("ua_bitcoin", "비트코인 채굴에 드는 연간 전력은?", "How much electricity does Bitcoin mining use per year?"),
    ("ua_openai_staff", "OpenAI의 직원 수는?", "How many employees does OpenAI have?"),
    (
        "ua_claude",
        "Claude 모델을 만든 회사의 본사는 어디인가?",
        "Where is the company that makes Claude headquartered?",
    ),
]

# facts from the phi-1 paper's body (abstract to conclusion), to judge how PDFs are read and cut
PDF_FACTS = [
    (
        "pdf_attention",
        "phi-1은 어떤 어텐션 구현을 썼나?",
        "Which attention kernel does phi-1 run on?",
        ["FlashAttention implementation"],
    ),
    (
        "pdf_layers",
        "13억 매개변수 phi-1 모델은 몇 개의 층으로 되어 있나?",
        "How deep is the 1.3B phi-1 network?",
        ["24 layers"],
    ),
    (
        "pdf_small_shape",
        "phi-1-small의 층 수와 은닉 차원은?",
        "How many layers and what hidden width does phi-1-small have?",
        ["20 layers, hidden dimension of 1024"],
    ),
    (
        "pdf_rotary",
        "회전 위치 임베딩의 차원은 얼마인가?",
        "What rotary dimension do the position embeddings use?",
        ["rotary dimension 32"],
    ),
    (
        "pdf_tokenizer",
        "phi-1은 어느 모델의 토크나이저를 그대로 썼나?",
        "Whose tokenizer did the authors reuse?",
        ["codegen-350M-mono"],
    ),
    (
        "pdf_context",
        "학습에 사용한 시퀀스 길이는?",
        "How long were the training sequences?",
        ["sequence length of 2048"],
    ),
    (
        "pdf_finetune_hours",
        "미세조정에는 추가로 몇 시간이 걸렸나?",
        "How much extra time did the finetuning take?",
        ["additional 7 hours"],
    ),
    (
        "pdf_finetune_lr",
        "미세조정 단계의 최대 학습률은?",
        "What peak learning rate did the finetuning stage use?",
        ["maximum learning rate 1e-4"],
    ),
    (
        "pdf_finetune_steps",
        "phi-1 미세조정은 모두 몇 스텝 진행했나?",
        "For how many steps was phi-1 finetuned?",
        ["total of 6,000 steps"],
    ),
    (
        "pdf_annotated",
        "GPT-4로 교육적 가치를 평가한 코드 표본은 몇 개인가?",
        "How many code samples did GPT-4 rate for educational value?",
        ["about 100k samples"],
    ),
    (
        "pdf_exercises_size",
        "CodeExercises 데이터셋은 몇 토큰 규모인가?",
        "How big is the CodeExercises dataset in tokens?",
        ["180M token"],
    ),
    (
        "pdf_textbooks_size",
        "GPT-3.5로 만든 합성 교과서 데이터는 몇 토큰인가?",
        "How many tokens of synthetic textbooks did GPT-3.5 write?",
        ["less that 1B tokens"],
    ),
    (
        "pdf_imports",
        "패키지 import 분포 그림은 몇 개의 연습문제를 집계했나?",
        "How many exercises does the import-count figure cover?",
        ["880K exercises"],
    ),
    (
        "pdf_new_problems",
        "LLM 채점 평가를 위해 새로 만든 문제는 몇 개인가?",
        "How many fresh problems were written for the GPT-4-graded evaluation?",
        ["50 new problems"],
    ),
    (
        "pdf_grade_scale",
        "GPT-4는 풀이에 몇 점 척도로 점수를 매겼나?",
        "On what scale does GPT-4 grade a solution?",
        ["grades from 0 to 10"],
    ),
    (
        "pdf_ngram",
        "학습 데이터와 13-gram이 겹친 HumanEval 문항은 몇 개였나?",
        "How many HumanEval problems shared a 13-gram with the training data?",
        ["4 humaneval questions"],
    ),
    (
        "pdf_pruned",
        "오염 분석에서 CodeExercises의 얼마를 잘라내고 다시 학습했나?",
        "How much of CodeExercises was removed before retraining in the contamination study?",
        ["more than 40%"],
    ),
    (
        "pdf_language",
        "phi-1이 특화된 프로그래밍 언어는?",
        "Which programming language is phi-1 limited to?",
        ["specialized in Python coding"],
    ),
    (
        "pdf_gpt35_errors",
        "저자들은 왜 GPT-3.5 대신 GPT-4로 합성 데이터를 만들면 나아진다고 보나?",
        "Why do the authors expect gains from generating the synthetic data with GPT-4?",
        ["high error rate"],
    ),
    (
        "pdf_replit",
        "phi-1 이전에 HumanEval 30% 가까이 도달한 가장 작은 모델은?",
        "Before phi-1, what was the smallest model to get near 30% on HumanEval?",
        ["Replit-Finetuned at 2.7B"],
    ),
    (
        "pdf_embedding_model",
        "임베딩 거리 계산에 쓴 임베딩은 어떤 모델에서 나왔나?",
        "Which model produced the embeddings for the embedding-distance analysis?",
        ["CodeGen-Mono 350M model"],
    ),
    (
        "pdf_weight_decay",
        "phi-1-base 사전학습의 가중치 감쇠 값은?",
        "What weight decay did pretraining phi-1-base use?",
        ["weight decay 0.1"],
    ),
]


# 20 more facts of the phi-1 paper's body (architecture, training, data filtering), written later
# than the 22 above: with ``dev_sources`` they make 50 questions in each language on the paper
PDF_FACTS += [
    ("pdf2_mbpp", "phi-1의 MBPP pass@1 정확도는?", "What pass@1 accuracy does phi-1 reach on MBPP?", ["55.5% on MBPP"]),
    (
        "pdf2_small_humaneval",
        "더 작은 phi-1-small은 HumanEval에서 몇 퍼센트를 기록했나?",
        "What HumanEval score does the smaller phi-1-small still achieve?",
        ["45% on HumanEval"],
    ),
    (
        "pdf2_web_tokens",
        "웹에서 골라낸 교과서 품질 데이터는 몇 토큰인가?",
        "How many tokens of textbook-quality web data were selected?",
        ["6B tokens"],
    ),
    (
        "pdf2_files",
        "The Stack과 StackOverflow의 파이썬 부분에는 파일이 모두 몇 개 들어 있나?",
        "How many files do the Python subsets of The Stack and StackOverflow hold together?",
        ["35 million files"],
    ),
    (
        "pdf2_classifier",
        "코드 파일의 품질을 예측하는 분류기는 어떤 종류인가?",
        "What kind of classifier predicts the quality of a code file?",
        ["random forest classifier"],
    ),
    (
        "pdf2_unfiltered",
        "필터링하지 않은 데이터로 학습한 350M 모델의 HumanEval 성능은 어디에서 정체됐나?",
        "Where did HumanEval performance plateau for 350M models trained on unfiltered data?",
        ["saturates at 12.19%"],
    ),
    (
        "pdf2_filtered",
        "필터링된 부분집합으로 학습한 모델은 HumanEval에서 몇 점을 얻었나?",
        "What HumanEval score did training on the filtered subset reach?",
        ["17.68% on HumanEval"],
    ),
    (
        "pdf2_hidden",
        "13억 매개변수 phi-1의 은닉 차원은 얼마인가?",
        "What is the hidden size of the 1.3B phi-1 model?",
        ["hidden dimension of 2048"],
    ),
    (
        "pdf2_heads",
        "phi-1에는 어텐션 헤드가 몇 개 있나?",
        "How many attention heads does phi-1 have?",
        ["32 attention heads"],
    ),
    (
        "pdf2_mlp",
        "phi-1의 MLP 내부 차원은 얼마인가?",
        "What inner dimension do phi-1's MLP layers use?",
        ["MLP-inner dimension of 8192"],
    ),
    (
        "pdf2_optimizer",
        "모델 학습에 사용한 옵티마이저는?",
        "Which optimizer trained the models?",
        ["fp16 training with AdamW"],
    ),
    (
        "pdf2_dropout",
        "어텐션과 잔차 연결에 적용한 드롭아웃 비율은?",
        "What dropout was applied to attention and residual connections?",
        ["residual dropout of 0.1"],
    ),
    (
        "pdf2_deepspeed",
        "여러 GPU 학습에 사용한 라이브러리는 무엇인가?",
        "Which library ran the multi-GPU training?",
        ["using deepspeed"],
    ),
    (
        "pdf2_batch",
        "사전학습의 유효 배치 크기는 얼마였나?",
        "What effective batch size did pretraining use?",
        ["effective batch size 1024"],
    ),
    (
        "pdf2_warmup",
        "사전학습에서 학습률 워밍업은 몇 스텝 동안 했나?",
        "Over how many steps did the pretraining learning rate warm up?",
        ["warmup over 750 steps"],
    ),
    (
        "pdf2_checkpoint",
        "phi-1-base로 쓴 체크포인트는 몇 번째 스텝의 것인가?",
        "The checkpoint from which step became phi-1-base?",
        ["checkpoint at 24,000 steps"],
    ),
    (
        "pdf2_ft_batch",
        "미세조정에서 쓴 유효 배치 크기는?",
        "What effective batch size did the finetuning use?",
        ["effective batchsize of 256"],
    ),
    (
        "pdf2_saved",
        "미세조정 중 체크포인트는 얼마 간격으로 저장했나?",
        "How often was a checkpoint saved during finetuning?",
        ["saved every 1000 steps"],
    ),
    (
        "pdf2_not_used",
        "phi-1 모델이 쓰지 않은 성능 향상 기법은 무엇인가?",
        "Which performance techniques do the phi-1 models leave out?",
        ["Fill-In-the-Middle (FIM)"],
    ),
    (
        "pdf2_libraries",
        "연습문제에 없는데도 미세조정 뒤 phi-1이 다룰 수 있게 된 외부 라이브러리는?",
        "Which external libraries could phi-1 use after finetuning although its exercises never include them?",
        ["Pygame and Tkinter"],
    ),
]


# Written on 2026-12-07 after that day's last retrieval and quoting change and measured once, before
# any later change: a check in the manner of the held-out questions, on parts of the report and the
# paper that the sets above do not ask about. Never read to choose a lever.
HELDOUT_FACTS = [
    (
        "h_samsung_xian",
        "삼성전자가 중국 시안에서 생산하는 낸드는 전체의 얼마인가?",
        "What share of Samsung's NAND flash is made in Xi'an, China?",
        ["전체 낸드의 40%"],
    ),
    (
        "h_micron_china",
        "마이크론의 대중국 수출액은 총매출의 몇 퍼센트인가?",
        "What share of Micron's revenue comes from exports to China?",
        ["총매출액의 11%(33억 달러)"],
    ),
    (
        "h_dod",
        "미국 국방부가 2020년 2월에 발표한 AI 원칙은 몇 가지인가?",
        "How many AI principles did the US Department of Defense announce in February 2020?",
        ["AI 5대 원칙"],
    ),
    (
        "h_iso_published",
        "AI 국제표준화회의는 지금까지 ISO 표준을 몇 개 공식 발표했나?",
        "How many ISO standards has the international AI standards committee published so far?",
        ["5개 ISO 표준을 공식 발표"],
    ),
    (
        "h_sc42_us",
        "SC42 워킹그룹에서 미국이 맡은 표준 분야는?",
        "Which standards area does the US lead in the SC42 working groups?",
        ["미국은 ‘빅데이터’"],
    ),
    (
        "h_gpai",
        "미국은 언제 인공지능 글로벌파트너십에 합류했나?",
        "When did the US join the Global Partnership on AI?",
        ["2020년 6월 GPAI"],
    ),
    (
        "h_china_goal",
        "중국은 몇 년까지 AI 세계 1위 국가가 되겠다는 목표를 세웠나?",
        "By what year does China aim to be the world's leading AI nation?",
        ["2030년 AI 세계 1등 국가"],
    ),
    (
        "h_bills_failed",
        "미국 플랫폼 규제법안 여섯 개 가운데 의회를 통과하지 못한 것은 몇 개인가?",
        "How many of the six US platform regulation bills failed to pass Congress?",
        ["6개 중 5개가"],
    ),
    (
        "h_investment_order",
        "2023년 8월 미국이 자본 투자를 규제한 중국의 첨단 분야는?",
        "In which Chinese high-tech fields did the US restrict investment in August 2023?",
        ["양자컴퓨팅, AI 등 3개 분야"],
    ),
    (
        "h_cet",
        "미국 최초의 국가 표준 전략은 어떤 기술을 대상으로 하나?",
        "Which technologies does the first US national standards strategy cover?",
        ["핵심·신흥 기술(Critical & Emerging Technology)"],
    ),
    (
        "h_pdf_total",
        "phi-1 학습에 쓴 세 데이터셋을 합치면 토큰이 얼마 미만인가?",
        "How many tokens do phi-1's three training datasets hold together?",
        ["less than 7B tokens"],
    ),
    (
        "h_pdf_qualities",
        "좋은 교과서처럼 학습 데이터가 갖춰야 할 성질은 무엇인가?",
        "Which qualities should training data share with a good textbook?",
        ["clear, self-contained, instructive, and balanced"],
    ),
    (
        "h_pdf_combined",
        "필터링 데이터와 합성 교과서를 함께 학습한 350M 모델의 HumanEval 점수는?",
        "What HumanEval score did the 350M model reach on the filtered data plus synthetic textbooks?",
        ["20.12%"],
    ),
    (
        "h_pdf_ast",
        "구문 기반 거리는 무엇 사이의 편집 거리로 계산했나?",
        "Between what is the syntax-based edit distance computed?",
        ["edit distance between the abstract syntax trees"],
    ),
    (
        "h_pdf_tau",
        "AST 일치율 τ는 어느 범위에서 바꿔 보았나?",
        "Over what range was the AST match rate τ varied?",
        ["We vary τ between 0.95 and 0.8"],
    ),
    (
        "h_pdf_smaller",
        "phi-1은 경쟁 모델보다 모델 크기와 데이터 크기가 각각 몇 배 작은가?",
        "How much smaller are phi-1's model and dataset than those of the models it beats?",
        ["10x smaller in model size and 100x smaller in dataset size"],
    ),
    (
        "h_pdf_robust",
        "phi-1은 프롬프트의 어떤 변화에 약한가?",
        "To what kind of prompt changes is phi-1 less robust?",
        ["less robust to stylistic variations or errors in the prompt"],
    ),
    (
        "h_pdf_domain",
        "phi-1이 더 큰 모델에 비해 부족한 지식은?",
        "What knowledge does phi-1 lack compared with larger models?",
        ["lacks the domain-specific knowledge"],
    ),
    (
        "h_pdf_tests",
        "GPT-4로 풀이를 채점하면 무엇이 필요 없어지나?",
        "What does grading solutions with GPT-4 make unnecessary?",
        ["obviates the need for tests"],
    ),
    (
        "h_pdf_recursive",
        "합성 데이터로 LLM을 다시 학습시키는 것에 대해 어떤 우려가 논쟁되나?",
        "What concern is debated about training new LLMs on data that LLMs synthesized?",
        ["narrower scope for the resulting LLM"],
    ),
]
HELDOUT_UNANSWERABLE = [
    ("h_ua_japan_subsidy", "일본의 AI 반도체 보조금 규모는?", "How large are Japan's AI chip subsidies?"),
    ("h_ua_gpt5", "GPT-5의 매개변수는 몇 개인가?", "How many parameters does GPT-5 have?"),
    ("h_ua_seoul", "서울의 인구는 몇 명인가?", "What is the population of Seoul?"),
]

# Written on 2026-12-07 (a later session) before any change of that session and measured once, before
# it: fifteen facts of the phi-1 paper's body that no set above asks about, the part where the first
# held-out check fell furthest below the 42-fact set.
HELDOUT2_FACTS = [
    (
        "h2_finetune_tokens",
        "phi-1은 몇 토큰의 데이터로 미세조정되었나?",
        "On how many tokens was phi-1 finetuned?",
        ["finetuning on less than 200M tokens", "CodeExercises dataset (<200M tokens)"],
    ),
    (
        "h2_exercise_diversity",
        "합성 연습문제 데이터셋은 다양성을 어떻게 확보했나?",
        "How did the authors make the synthetic exercises diverse?",
        ["constraining the function names"],
    ),
    (
        "h2_textbook_diversity",
        "합성 교과서의 다양성은 무엇으로 얻었나?",
        "How was diversity obtained for the synthetic textbooks?",
        ["constraints on topics and target audience"],
    ),
    (
        "h2_self_contained",
        "기존 코드 데이터셋의 많은 샘플이 단독으로 이해하기 어려운 이유는?",
        "Why are many snippets in standard code datasets hard to understand on their own?",
        ["depend on other modules or files"],
    ),
    (
        "h2_exercise_tasks",
        "CodeExercises는 어떤 과제들로 구성되나?",
        "What kind of tasks make up CodeExercises?",
        ["short Python tasks using only basic Python libraries"],
    ),
    (
        "h2_environment",
        "작은 모델은 LLM의 어떤 비용을 줄일 수 있나?",
        "Which cost of LLMs can smaller models reduce?",
        ["environmental cost of LLMs"],
    ),
    (
        "h2_small_capacity",
        "미세조정 후에도 phi-1-small이 PyGame 과제에서 실패하는 이유는?",
        "Why does phi-1-small still fail the PyGame task after finetuning?",
        ["does not have enough capacity to learn the correct function calls"],
    ),
    (
        "h2_santacoder",
        "표 1에서 SantaCoder의 HumanEval 점수는?",
        "What HumanEval score does SantaCoder have in Table 1?",
        ["SantaCoder [ALK+23] 1.1B 236B 14.0%"],
    ),
    (
        "h2_dedicated_team",
        "새 평가 문제는 누가 만들었나?",
        "Who wrote the new evaluation problems?",
        ["created by a dedicated team"],
    ),
    (
        "h2_pruned_share",
        "CodeExercises 데이터셋을 최대 얼마나 가지치기했나?",
        "At most, how much of CodeExercises was pruned away?",
        ["more than 40% of the CodeExercises dataset"],
    ),
    (
        "h2_gpt4_data",
        "저자들은 GPT-3.5 대신 어떤 모델로 합성 데이터를 만들면 더 나아질 것이라 보나?",
        "Which model do the authors expect would generate better synthetic data than GPT-3.5?",
        ["using GPT-4 to generate the synthetic data instead of GPT-3.5"],
    ),
    (
        "h2_starcoder_understanding",
        "50개의 새 비전형 문제에서 StarCoder의 이해 점수는?",
        "What understanding score did StarCoder get on the 50 unconventional problems?",
        ["StarCoder [LAZ+23] 15.5B 1T 51%"],
    ),
    (
        "h2_chat_data",
        "채팅 데이터는 어느 학습 단계에만 들어 있었나?",
        "In which training stage was chat data present?",
        ["chat data is exclusive in pretraining"],
    ),
    (
        "h2_ast_agnostic",
        "AST 거리는 코드의 어떤 부분에 영향을 받지 않나?",
        "What parts of code does the AST distance ignore?",
        ["agnostic to non-syntax text"],
    ),
    (
        "h2_gpt35_errors",
        "GPT-3.5가 만든 데이터의 문제점은 무엇인가?",
        "What problem did the authors notice in GPT-3.5's data?",
        ["GPT-3.5 data has a high error rate"],
    ),
]
HELDOUT2_UNANSWERABLE = [
    (
        "h2_ua_cost",
        "phi-1 학습에 든 전기 요금은 몇 달러인가?",
        "How many dollars of electricity did training phi-1 cost?",
    ),
    (
        "h2_ua_license",
        "phi-1 가중치는 어떤 라이선스로 공개되었나?",
        "Under which license were phi-1's weights released?",
    ),
]

# Written on 2026-12-07 (the session after) before any change of that session and measured once,
# before it: seventeen facts of the report's sentences that no set above asks about (lines drawn at
# random), two of the phi-1 paper's, and three questions that neither answers.
HELDOUT3_FACTS = [
    (
        "h3_tongyi_params",
        "알리바바 통이첸원의 매개변수는 몇 개인가?",
        "How many parameters does Alibaba's Tongyi Qianwen have?",
        ["Tongyi Qianwen 매개변수는 10조 개"],
    ),
    (
        "h3_palm2_drop",
        "PaLM2의 매개변수는 PaLM1보다 얼마나 줄었나?",
        "By how much did PaLM 2's parameter count fall compared with PaLM 1?",
        ["2,000억 개 감소"],
    ),
    (
        "h3_june_principles",
        "2019년 6월 중국이 발표한 AI 원칙은?",
        "Which AI principles did China announce in June 2019?",
        ["국가 차세대 AI 관리 원칙"],
    ),
    (
        "h3_genai_measures",
        "2023년 5월 10일 중국 국무원이 내놓은 생성형 AI 규정은?",
        "What generative AI regulation did China's State Council put forward on 10 May 2023?",
        ["생성형 인공지능서비스 관리방법"],
    ),
    (
        "h3_executive_order",
        "2020년 12월 미국 연방정부가 발표한 AI 관련 행정명령은?",
        "What AI executive order did the US issue in December 2020?",
        ["신뢰할 수 있는 인공지능 사용을 도모하기 위한 행정명령"],
    ),
    (
        "h3_cfius_tiktok",
        "미국 외국인투자위원회는 틱톡에 대해 무엇을 권고했나?",
        "What did CFIUS recommend about TikTok?",
        ["틱톡의 금지 또는 매각을 권고"],
    ),
    (
        "h3_protectionism_year",
        "중국이 구글, 페이스북 같은 글로벌 웹사이트 사용을 제한하기 시작한 해는?",
        "In what year did China start restricting global websites such as Google and Facebook?",
        ["2009년 구글, 페이스북, 아마존"],
    ),
    (
        "h3_gdp_2022",
        "2022년 세계 GDP에서 중국의 비중은?",
        "What was China's share of global GDP in 2022?",
        ["24.7%, 18.0%"],
    ),
    (
        "h3_brain_structure",
        "다양한 신경망 구조를 보여 주는 인간 뇌 구조를 발견한 사람은?",
        "Who discovered the human brain structures shown next to the neural network architectures?",
        ["산티아고 카말"],
    ),
    (
        "h3_ppo_origin",
        "PPO는 누가 언제 공개한 알고리즘인가?",
        "Who released the PPO algorithm, and when?",
        ["PPO는 OpenAI가 2017년에 공개한 알고리즘"],
    ),
    (
        "h3_patent_outlook",
        "챗GPT 학습 방식의 특허 출원 가능성은 어떻게 판단되나?",
        "How likely is a patent on ChatGPT's training method, according to the report?",
        ["특허 출원 가능성은 낮을 것으로 판단"],
    ),
    (
        "h3_top100_papers",
        "2020~2022년 글로벌 100대 연구논문에서 압도적 위상을 유지한 나라는?",
        "Which country dominated the global top-100 research papers of 2020–2022?",
        ["선도국 미국이 국가별 및 기업별 수치에서 압도적인 위상"],
    ),
    (
        "h3_capability_metrics",
        "기술 능력은 보통 어떤 지표로 측정하나?",
        "Which indicators are usually used to measure technological capability?",
        ["특허, 생산성, 혁신기업 규모 등 양적지표"],
    ),
    (
        "h3_open_source_latecomers",
        "AI에 공개SW 생태계가 작동한다는 것은 후발자에게 무엇을 의미하나?",
        "What does AI's open-source software ecosystem mean for latecomers?",
        ["후발자에게도 기술학습의 가능성이 열려있음"],
    ),
    (
        "h3_catch_up_key",
        "중국 AI 추격의 성패를 결정짓는 핵심은?",
        "What will decide whether China's AI catch-up succeeds?",
        ["독자 모델이 글로벌 확산으로 연결될지의 여부"],
    ),
    (
        "h3_industry_llms",
        "지난 3년간 중국에서 출시된 산업특화 LLM은 몇 개인가?",
        "How many industry-specific LLMs were released in China over the past three years?",
        ["산업특화 LLM만 79개"],
    ),
    (
        "h3_gpt4all_gpu",
        "GPT4All 학습에 든 GPU 비용은?",
        "How much did the GPUs cost to train GPT4All?",
        ["GPU 800불"],
    ),
    (
        "h3_proprietary",
        "저자들은 합성 데이터 생성의 일부 세부 사항을 왜 밝히지 않았나?",
        "Why did the authors leave out some details of the synthetic data generation?",
        ["for proprietary reasons"],
    ),
    (
        "h3_pytorch_prompt",
        "PyTorch 예제에서 모델에게 무엇을 작성하라고 요청했나?",
        "What did the PyTorch example ask the model to write?",
        ["write a modified gradient update"],
    ),
]
HELDOUT3_UNANSWERABLE = [
    ("h3_ua_grok", "xAI가 처음 내놓은 모델의 이름은?", "What is the name of xAI's first model?"),
    ("h3_ua_korea_exports", "한국의 AI 반도체 수출액은 얼마인가?", "How much are Korea's AI chip exports worth?"),
    ("h3_ua_venue", "phi-1 논문은 어느 학회에 실렸나?", "At which conference was the phi-1 paper published?"),
]


# 12 more facts of the phi-1 paper (its limits, the pruning analysis, appendix examples), written after
# the names most English passages share were left out of a Korean question's rendering, and measured once
HELDOUT4_FACTS = [
    (
        "h4_tkinter",
        "phi-1-base와 phi-1-small은 어떤 라이브러리의 API를 제대로 쓰지 못했나?",
        "Which library's APIs did phi-1-base and phi-1-small fail to use correctly?",
        ["fail to use the correct Tkinter APIs"],
    ),
    (
        "h4_prompt_len",
        "프롬프트가 길어지면 phi-1의 성능은 어떻게 되나?",
        "What happens to phi-1's performance as the prompt gets longer?",
        ["performance drops significantly as the length of the prompt increases"],
    ),
    (
        "h4_tau",
        "유사도 분석에서 일치율 τ는 어느 범위에서 바꾸었나?",
        "Over what range was the match rate τ varied in the similarity analysis?",
        ["We vary τ between 0.95 and 0.8"],
    ),
    (
        "h4_total_problems",
        "CodeExercises에는 모두 몇 개의 문제가 있나?",
        "How many problems does CodeExercises hold in total?",
        ["879.5K total problems"],
    ),
    (
        "h4_ast",
        "AST 거리는 어떤 텍스트와 무관하게 겹치는 코드를 찾아내나?",
        "Which kind of text is the AST distance agnostic to?",
        ["agnostic to non-syntax text"],
    ),
    (
        "h4_sparks",
        "정적인 벤치마크에서 벗어나야 한다고 주장한 논문은?",
        "Which paper argued for moving away from static benchmarks?",
        ["Sparks of AGI paper"],
    ),
    (
        "h4_svd",
        "phi-1-small은 PyTorch 텐서와 호환되지 않는 어떤 함수를 썼나?",
        "Which function incompatible with PyTorch tensors did phi-1-small use?",
        ["np.linalg.svd(x)"],
    ),
    (
        "h4_scaling",
        "저자들은 phi-1의 한계를 극복하는 데 무엇이 불분명하다고 했나?",
        "What do the authors say is unclear about overcoming phi-1's limitations?",
        ["unclear what scaling might be necessary"],
    ),
    (
        "h4_indices",
        "미세조정 전의 모델은 어떤 두 개념을 구분하지 못했나?",
        "Before finetuning, which two notions did the model fail to tell apart?",
        ["differentiate between “elements” and “indices”"],
    ),
    (
        "h4_pew",
        "Tkinter 예제에서 phi-1이 제대로 옮겨 쓰지 못한 문자열은?",
        "Which string did phi-1 fail to copy correctly in the Tkinter example?",
        ["pewpewpew"],
    ),
    (
        "h4_layers",
        "예시에서 층 수를 몇에서 몇으로 늘리자 phi-1이 실패했나?",
        "In the example, phi-1 failed when the number of layers went from what to what?",
        ["number of layers from 3 to 4"],
    ),
    (
        "h4_base29",
        "사전학습만 한 phi-1-base의 HumanEval 성능은?",
        "What HumanEval performance does phi-1-base reach after pretraining alone?",
        ["HumanEval performance of 29%"],
    ),
]


# Events asked by their date, which the report writes five ways ("21.09.29", "2021년 9월", "23년 3월",
# "2023.03.16", "(23.03)") and English questions two more: written to judge dates read as months.
DATED_FACTS = [
    (
        "d_asml",
        "2022년 7월 미국이 네덜란드에 요청한 것은?",
        "What did the US ask of the Netherlands in July 2022?",
        ["EUV 장비 중국 수출금지 요청"],
    ),
    (
        "d_japan",
        "2022년 10월 미국은 일본에 무엇을 요구했나?",
        "What did the US ask Japan for in October 2022?",
        ["미국은 일본에게 중국이 군사"],
    ),
    (
        "d_bill",
        "2023년 5월 11일 미국이 준비하던 법안은?",
        "Which bill was the US preparing on 11 May 2023?",
        ["중국 경쟁 법안 2.0"],
    ),
    (
        "d_gpai",
        "2020년 5월 미국이 가입한 국제 협의체는?",
        "Which international body did the US join in May 2020?",
        ["GPAI"],
    ),
    (
        "d_alibaba",
        "알리바바가 2023년 4월 7일 내놓은 모델은?",
        "What model did Alibaba put out on April 7, 2023?",
        ["通义千问"],
    ),
    (
        "d_plan",
        "중국 국무원이 2021년 12월 발표한 계획은?",
        "What plan did China's State Council issue in December 2021?",
        ["14차 5개년 디지털경제계획"],
    ),
    (
        "d_npc",
        "2023년 3월 전인대에서 통과된 것은?",
        "What was passed at the National People's Congress in March 2023?",
        ["당과 국가기구개혁방안"],
    ),
    (
        "d_entity",
        "2022년 12월 미국 상무부가 수출통제 명단에 추가한 중국 기업은 몇 개인가?",
        "How many Chinese firms did the US Commerce Department add to its export control list in December 2022?",
        ["36개 중국 기업"],
    ),
    (
        "d_iflytek",
        "2023년 5월 6일 공개된 iFlytek의 모델은?",
        "Which iFlytek model came out on May 6, 2023?",
        ["iFlytekSpark"],
    ),
    (
        "d_dall",
        "OpenAI가 2021년 1월 내놓은 모델은?",
        "Which model did OpenAI release in January 2021?",
        ["DALL-E"],
    ),
]


# Questions on what no document here is about (general knowledge, chores, the news): written to judge
# abstention on plainly unrelated questions; the rule on passages sharing no word was measured on them.
OFFTOPIC_UNANSWERABLE = [
    ("off_capital", "프랑스의 수도는 어디인가?", "What is the capital of France?"),
    ("off_everest", "에베레스트산의 높이는?", "How tall is Mount Everest?"),
    ("off_mona_lisa", "모나리자를 그린 화가는?", "Who painted the Mona Lisa?"),
    ("off_boiling", "물의 끓는점은 몇 도인가?", "What is the boiling point of water?"),
    ("off_soccer", "축구 팀은 몇 명으로 구성되나?", "How many players are on a soccer team?"),
    ("off_guitar", "기타를 배우는 가장 좋은 방법은?", "What is the best way to learn guitar?"),
    ("off_president_fr", "프랑스 대통령은 누구인가?", "Who is the president of France?"),
    ("off_subway", "서울 지하철은 몇 시에 끊기나?", "What time does the Seoul subway close?"),
    ("off_bibimbap", "비빔밥 만드는 법은?", "How do I make bibimbap?"),
    ("off_light", "빛의 속도는 얼마인가?", "What is the speed of light?"),
    ("off_movie", "오늘 밤 볼 만한 영화를 추천해 줘.", "Recommend a good movie for tonight."),
    ("off_tokyo", "도쿄의 인구는?", "What is the population of Tokyo?"),
    ("off_eiffel", "에펠탑은 언제 지어졌나?", "When was the Eiffel Tower built?"),
    ("off_bones", "사람의 뼈는 몇 개인가?", "How many bones are in the human body?"),
    ("off_exchange", "오늘 원달러 환율은?", "What is the exchange rate of the dollar to the won today?"),
]


def records(facts=FACTS, unanswerable=UNANSWERABLE):
    for fid, ko, en, evidence in facts:
        yield {"id": f"{fid}-ko", "lang": "ko", "question": ko, "evidence": evidence}
        yield {"id": f"{fid}-en", "lang": "en", "question": en, "evidence": evidence}
    for fid, ko, en in unanswerable:
        yield {"id": f"{fid}-ko", "lang": "ko", "question": ko, "evidence": []}
        yield {"id": f"{fid}-en", "lang": "en", "question": en, "evidence": []}


if __name__ == "__main__":
    sets = (
        ("questions.jsonl", FACTS, UNANSWERABLE),
        ("questions_pdf.jsonl", PDF_FACTS, []),
        ("questions_heldout.jsonl", HELDOUT_FACTS, HELDOUT_UNANSWERABLE),
        ("questions_heldout2.jsonl", HELDOUT2_FACTS, HELDOUT2_UNANSWERABLE),
        ("questions_heldout3.jsonl", HELDOUT3_FACTS, HELDOUT3_UNANSWERABLE),
        ("questions_heldout4.jsonl", HELDOUT4_FACTS, []),
        ("questions_dates.jsonl", DATED_FACTS, []),
        ("questions_offtopic.jsonl", [], OFFTOPIC_UNANSWERABLE),
    )
    for name, facts, unanswerable in sets:
        out = Path(__file__).with_name(name)
        written = list(records(facts, unanswerable))
        with out.open("w", encoding="utf-8") as f:
            for record in written:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"wrote {len(written)} questions to {out}")
