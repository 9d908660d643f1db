package nlu

import "testing"

func TestExtractOrderID(t *testing.T) {
	cases := []struct {
		text string
		want string // "" means no order number
	}{
		// Positives.
		{"where is my order 123456789", "123456789"},
		{"order #20231115001 status", "20231115001"},
		{"#123456", "123456"},
		{"No.00123456 still not shipped", "00123456"},
		{"order no. 7788990011", "7788990011"},
		{"my order number is 556677889, where is it", "556677889"},
		{"order123456", "123456"},
		{"Order ID: 000123456", "000123456"},
		{"订单号：20231201000123 请问发货了吗", "20231201000123"},
		{"订单123456789到哪了", "123456789"},
		{"单号 2023111188888 发货了吗", "2023111188888"},
		{"訂單號：１２３４５６７８", "12345678"},
		{"訂單編號 887766554433 的狀態", "887766554433"},
		{"我的订单是 98765432", "98765432"},
		{"123456", "123456"},
		{"查一下 20240105778899", "20240105778899"},
		{"12345678901234567890", "12345678901234567890"},
		{"订单号13812345678", "13812345678"}, // an explicit keyword beats the mobile pattern
		{"call me on 13812345678 about order 12345678", "12345678"},
		{"会员号 12345678 订单 7654321", "7654321"},
		{"tracking SF1234567890, order 99887766", "99887766"},
		{"９８７６５４３２１", "987654321"},
		{"payment 11112222333 for 44445555", "44445555"},
		// Negatives.
		{"where is my order", ""},
		{"order 12345", ""},                  // too short
		{"123456789012345678901", ""},        // too long
		{"13812345678", ""},                  // Chinese mobile
		{"my phone is 13912345678", ""},      // mobile after phone
		{"tel 02112345678", ""},              // phone keyword
		{"手机 021-12345678", ""},              // dashed phone
		{"电话：87654321", ""},                  // phone keyword
		{"手機 0912345678", ""},                // Traditional phone keyword
		{"+86 13812345678", ""},              // international prefix
		{"+1 4155552671", ""},                // international prefix
		{"+8613812345678", ""},               // glued international prefix
		{"call 400-820-8820", ""},            // dashed hotline
		{"SF1234567890", ""},                 // courier code
		{"JD0012345678 到哪了", ""},             // courier code
		{"YT7654321098", ""},                 // courier code
		{"快递单号 773012345678", ""},            // waybill keyword
		{"运单号：432109876543", ""},             // waybill keyword
		{"tracking number 123456789012", ""}, // tracking keyword
		{"支付流水 4200001234567890", ""},        // payment reference
		{"交易号 2023111522001456789", ""},      // payment reference
		{"transaction id 998877665544", ""},  // payment reference
		{"会员号 12345678", ""},                 // member id
		{"member 88776655", ""},              // member id
		{"user id 1234567", ""},              // member id
		{"ID: 55667788", ""},                 // member id
		{"paid ¥1234567 for nothing", ""},    // amount
		{"一共 1000000 元", ""},                 // amount
		{"version 1.2345678", ""},            // decimal
		{"abc123456", ""},                    // alphanumeric code
		{"123456abc", ""},                    // alphanumeric code
		{"", ""},
		{"\xff\xfe123456\x00", "123456"},
	}
	for _, tc := range cases {
		got, ok := ExtractOrderID(tc.text)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ExtractOrderID(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
		}
	}
}
