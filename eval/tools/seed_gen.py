import json
S = "seed/alibaba-baidu-ai-chips.txt"
rows = [
 ("On what date did Alibaba and Baidu shares jump in Hong Kong trading?", ["September 12"], "On September 12, Alibaba and Baidu, two major China technology giants, performed well in Hong Kong stocks."),
 ("Roughly how much did Alibaba's share price gain early in the session?", ["7%", "close to 7%"], "Alibaba's gain was close to 7%"),
 ("By how much did Baidu's shares rise at the start of trading?", ["6%", "more than 6%"], "Baidu also rose more than 6%."),
 ("Which Alibaba research unit developed the chips it uses to train lightweight AI models?", ["Dharma Institute"], "Alibaba has been using light-containing chips developed by its Dharma Institute for the training of lightweight AI models since the beginning of 2024"),
 ("Since when has Alibaba been training lightweight AI models on its own chips?", ["2024", "beginning of 2024"], "Alibaba has been using light-containing chips developed by its Dharma Institute for the training of lightweight AI models since the beginning of 2024"),
 ("What is the name of Baidu's family of in-house AI chips?", ["Kunlun"], "Baidu is more actively promoting the experimental application of its Kunlun chips in the training of the main AI model-Wenxinyan version"),
 ("Which series of Baidu chips is being used to train its main AI model?", ["P800"], "especially the use of the P800 series chips"),
 ("What is Baidu's main AI model called in the article?", ["Wenxinyan"], "Baidu is more actively promoting the experimental application of its Kunlun chips in the training of the main AI model-Wenxinyan version"),
 ("Which chipmaker is OpenAI teaming up with to build its own AI chips?", ["Broadcom"], "In late August, OpenAI and chip giant Broadcom announced that they would jointly develop their own AI chips"),
 ("When did OpenAI announce its joint chip project?", ["late August", "August"], "In late August, OpenAI and chip giant Broadcom announced that they would jointly develop their own AI chips"),
 ("Which Nvidia chip does OpenAI want to depend on less?", ["H100", "Nvidia H100"], "aiming to reduce their high dependence on core chips such as Nvidia H100."),
 ("Which company said it will offer its latest TPUs to third-party data centres for the first time?", ["Google"], "At the same time, Google announced that its new generation of TPU (Tensor Processing Units) will be open to third-party data centers for the first time"),
 ("What does the abbreviation TPU stand for?", ["Tensor Processing Units"], "TPU (Tensor Processing Units)"),
 ("In which year did the United States bring in chip export controls affecting China?", ["2022"], "Especially after the United States introduced chip export controls in 2022"),
 ("Which Nvidia GPUs can no longer be exported to customers in China?", ["A100/H100", "A100"], "the export of high-end GPUs such as NVIDIA A100/H100 to China customers has been completely restricted"),
 ("What is Tencent's AI chip called?", ["Zixiao"], "In particular, Tencent's Zixiao AI chip and ByteDance's Kunpeng architecture adaptation plan shows"),
 ("What is the name of ByteDance's architecture adaptation plan?", ["Kunpeng"], "In particular, Tencent's Zixiao AI chip and ByteDance's Kunpeng architecture adaptation plan shows"),
 ("How does the efficiency of Alibaba's optical chip on image processing compare with ordinary GPUs?", ["more than twice", "twice"], "its efficiency in image processing tasks has reached more than twice that of traditional GPUs"),
 ("What manufacturing process does the Kunlun P800 use?", ["7nm"], "Baidu Kunlun P800 adopts a 7nm process technology"),
 ("How much INT8 computing power does the Kunlun P800 offer?", ["256 TOPS"], "integrates up to 256 TOPS of INT8 computing power"),
 ("Which generation of its series is the Kunlun P800?", ["third-generation", "third generation", "third"], "As the third-generation product of this series, Baidu Kunlun P800 adopts a 7nm process technology"),
 ("Which brokerage said AI infrastructure investment is moving towards full-stack ecological capabilities?", ["China Merchants Securities"], "China Merchants Securities pointed out in its latest report that the investment logic of AI infrastructure is shifting"),
 ("Which outlet published the article about Alibaba and Baidu's chips?", ["Hawk Insight"], "do not represent the views or position of Hawk Insight"),
 ("Which two other Chinese firms besides Tencent are named as deploying their own chips?", ["ByteDance", "Xiaomi"], "Tencent, ByteDance, Xiaomi, etc. have also deployed self-developed chips to varying degrees."),
]
unans = [
 "How much money has Alibaba invested in its chip programme?",
 "What is the clock speed of Baidu's Kunlun P800 chip?",
 "Which foundry manufactures Baidu's Kunlun P800 chips?",
 "How did Nvidia's chief executive respond to Alibaba and Baidu's chip plans?",
 "At what price did Alibaba's shares close in Hong Kong on September 12?",
]
with open("eval/datasets/seed.jsonl", "w") as f:
    for i, (q, a, e) in enumerate(rows, 1):
        f.write(json.dumps({"id": f"seed-{i:02d}", "question": q, "answers": a, "sources": [S], "type": "single", "evidence": [e]}, ensure_ascii=False) + "\n")
    for j, q in enumerate(unans, 1):
        f.write(json.dumps({"id": f"seed-u{j}", "question": q, "answers": [], "sources": [], "type": "unanswerable"}, ensure_ascii=False) + "\n")
